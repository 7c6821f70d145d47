import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertRecord, OverflowDelta, OverflowRepository } from '@incident-pilot/core';
import { keys } from '../tables.js';
import { CONCURRENCY, type Dynamo, mapLimit } from './client.js';

/**
 * Overflow alerts: one item per alert past the ones an incident lists, with its status and the
 * incident version that counted it (`countedIn`, `resolvedIn`). A count is taken when the item is
 * new, or when the version that counted it is the one being written again (its write never landed).
 */
const NAMES = { '#st': 'status', '#c': 'countedIn', '#r': 'resolvedIn', '#exp': 'expiresAt' };

export function createOverflowRepository(db: Dynamo, alertTtlDays = 30): OverflowRepository {
  const { doc, tableName, now, conditionalWrite } = db;
  const expiresAt = () => Math.floor(now() / 1000) + Math.round(alertTtlDays * 86_400);

  /** SET `assignments` when `condition` holds; true when written. */
  const update = (
    key: Record<string, string>,
    assignments: string,
    condition: string,
    values: Record<string, unknown>,
  ) =>
    conditionalWrite('UpdateItem', () =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: `SET ${assignments}`,
          ConditionExpression: condition,
          // DynamoDB refuses names an expression does not use.
          ExpressionAttributeNames: Object.fromEntries(
            Object.entries(NAMES).filter(([name]) => `${assignments} ${condition}`.includes(name)),
          ),
          ExpressionAttributeValues: values,
        }),
      ),
    );

  return {
    async applyOverflow(groupId, incidentId, records, version): Promise<OverflowDelta> {
      // One status per alert: its latest record (a resolution wins over the firing it ends).
      const latest = new Map<string, AlertRecord>();
      for (const r of [...records].sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt))) {
        const seen = latest.get(r.fingerprint);
        if (!seen || r.status === 'resolved' || seen.status !== 'resolved') latest.set(r.fingerprint, r);
      }
      const deltas = await mapLimit([...latest.values()], CONCURRENCY, async (record) => {
        const key = keys.overflowAlert(groupId, incidentId, record.fingerprint);
        const added = await update(
          key,
          '#st = if_not_exists(#st, :status), #c = :v, #exp = :exp',
          'attribute_not_exists(pk) OR #c = :v',
          { ':v': version, ':status': record.status, ':exp': expiresAt() },
        );
        const resolved =
          record.status === 'resolved' &&
          (await update(
            key,
            '#st = :resolved, #r = :v',
            '#st = :firing OR #r = :v OR (attribute_not_exists(#r) AND #c = :v)',
            { ':v': version, ':firing': 'firing', ':resolved': 'resolved' },
          ));
        return { added: Number(added), resolved: Number(resolved) };
      });
      return deltas.reduce((a, b) => ({ added: a.added + b.added, resolved: a.resolved + b.resolved }), {
        added: 0,
        resolved: 0,
      });
    },
  };
}
