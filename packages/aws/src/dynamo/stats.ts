import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { STAT_NAMES, type Stats, type StatsRepository } from '@incident-pilot/core';
import { keys } from '../tables.js';
import type { Dynamo } from './client.js';

/** The counters item: one number per stat, incremented atomically. */
export function createStatsRepository(db: Dynamo): StatsRepository {
  const { doc, tableName, call, getItem } = db;
  return {
    async addStats(delta: Partial<Stats>): Promise<void> {
      const entries = STAT_NAMES.flatMap((name) => {
        const value = delta[name];
        return value !== undefined && Number.isFinite(value) && value !== 0 ? [[name, value] as const] : [];
      });
      if (entries.length === 0) return;
      // ADD is atomic on the server: parallel workers never lose an increment.
      await call('UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.stats,
            UpdateExpression: `ADD ${entries.map((_, i) => `#n${i} :v${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#n${i}`, name])),
            ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
          }),
        ),
      );
    },

    async getStats(): Promise<Stats> {
      const item = await getItem(tableName, keys.stats);
      return Object.fromEntries(
        STAT_NAMES.map((name) => {
          const value = item?.[name];
          return [name, typeof value === 'number' ? value : 0];
        }),
      ) as Stats;
    },
  };
}
