import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertRecord, OverflowCounts, OverflowRepository } from '@incident-pilot/core';
import { keys } from '../tables.js';
import { CONCURRENCY, type Dynamo, mapLimit } from './client.js';

/**
 * Overflow alerts: one item per alert past the ones an incident lists, with its status and the
 * incident version that counted it (`countedIn`, `resolvedIn`). A count is taken when the item is
 * new, or when the version that counted it is the one being written again (its write never landed).
 * An alert that some attempt at another version counted tells nothing: that version may have been
 * written by another worker, without it. Then the counts are read back from the items themselves.
 * The items are the incident's counts, so they are kept as the incident is, without an expiry: an
 * incident can stay open longer than its alert records live, and Alertmanager's re-sends of its alerts
 * then arrive as new records, which an expired item would count a second time.
 */
const NAMES = { '#st': 'status', '#c': 'countedIn', '#r': 'resolvedIn' };

export function createOverflowRepository(db: Dynamo): OverflowRepository {
  const { doc, tableName, conditionalWrite, queryAll } = db;

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

  /** The incident's counts over all its overflow items, read strongly consistent. */
  const countAll = async (groupId: string, incidentId: string): Promise<OverflowCounts> => {
    const { pk, sk } = keys.overflowAlert(groupId, incidentId, '');
    const items = await queryAll({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeNames: { '#st': 'status' },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': sk },
      ProjectionExpression: '#st',
      ConsistentRead: true,
    });
    return { alerts: items.length, resolved: items.filter((item) => item.status === 'resolved').length };
  };

  return {
    async applyOverflow(groupId, incidentId, records, version, counted): Promise<OverflowCounts> {
      // One status per alert: its latest record (a resolution wins over the firing it ends).
      const latest = new Map<string, AlertRecord>();
      for (const r of [...records].sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt))) {
        const seen = latest.get(r.fingerprint);
        if (!seen || r.status === 'resolved' || seen.status !== 'resolved') latest.set(r.fingerprint, r);
      }
      let countedElsewhere = false;
      const deltas = await mapLimit([...latest.values()], CONCURRENCY, async (record) => {
        const key = keys.overflowAlert(groupId, incidentId, record.fingerprint);
        const added = await update(
          key,
          '#st = if_not_exists(#st, :status), #c = :v',
          'attribute_not_exists(pk) OR #c = :v',
          { ':v': version, ':status': record.status },
        );
        const resolved =
          record.status === 'resolved' &&
          (await update(
            key,
            '#st = :resolved, #r = :v',
            '#st = :firing OR #r = :v OR (attribute_not_exists(#r) AND #c = :v)',
            { ':v': version, ':firing': 'firing', ':resolved': 'resolved' },
          ));
        // A resolution of an alert counted earlier is the usual case; what this record says, counted
        // by another version, only happens to a retry, a lost race or a late record.
        if (record.status === 'resolved' ? !resolved : !added) countedElsewhere = true;
        return { added: Number(added), resolved: Number(resolved) };
      });
      if (countedElsewhere) return countAll(groupId, incidentId);
      return deltas.reduce((a, b) => ({ alerts: a.alerts + b.added, resolved: a.resolved + b.resolved }), counted);
    },
  };
}
