import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RuleFeedback, RuleScore } from '@incident-pilot/core';
import { keys } from '../tables.js';
import { CONCURRENCY, type Dynamo, mapLimit } from './client.js';

/**
 * Rule firings and votes, one partition per rule (`R#<ruleId>`): a firing marker per incident and one
 * vote item per (incident, user). The scoreboard counts them with one query per rule. Counting instead
 * of keeping counters makes every write an idempotent put: a retried firing or a changed vote can never
 * move a count twice, even across crashes.
 */
export function createRuleFeedback(db: Dynamo): RuleFeedback {
  const { doc, tableName, conditionalWrite, batchPut, queryAll } = db;
  return {
    async recordFired(incidentId, ruleIds, at) {
      const unique = [...new Set(ruleIds)];
      await batchPut(unique.map((ruleId) => ({ ...keys.ruleFired(ruleId, incidentId), ruleId, incidentId, at })));
    },

    async vote({ incidentId, ruleId, userId, vote, at }) {
      // Two clicks handled by two functions at once land in either order: the later click wins.
      await conditionalWrite('PutItem', () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...keys.ruleVote(ruleId, incidentId, userId), ruleId, incidentId, userId, vote, at },
            ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':at': at },
          }),
        ),
      );
    },

    async ruleScores(ruleIds) {
      return mapLimit([...ruleIds], CONCURRENCY, async (ruleId): Promise<RuleScore> => {
        const items = await queryAll({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.rulePartition(ruleId) },
          ProjectionExpression: 'sk, vote, #at',
          ExpressionAttributeNames: { '#at': 'at' },
        });
        const score: RuleScore = { ruleId, fired: 0, up: 0, down: 0, lastFiredAt: null };
        for (const item of items) {
          const sk = String(item.sk);
          if (sk.startsWith(keys.ruleFiredPrefix)) {
            score.fired += 1;
            const at = typeof item.at === 'string' ? item.at : null;
            if (at && (!score.lastFiredAt || at > score.lastFiredAt)) score.lastFiredAt = at;
          } else if (item.vote === 'up') score.up += 1;
          else if (item.vote === 'down') score.down += 1;
        }
        return score;
      });
    },
  };
}
