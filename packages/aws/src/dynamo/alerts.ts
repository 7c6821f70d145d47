import { BatchGetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertRecord, AlertRepository, RecordedAlert } from '@incident-pilot/core';
import { keys } from '../tables.js';
import { CONCURRENCY, type Dynamo, epochSeconds, type Item, mapLimit, notExpired, strip } from './client.js';

/** What a folded alert record no longer keeps (its keys, `groupId` and `receivedAt` stay). */
const FOLDED_AWAY = [
  'labels',
  'annotations',
  'generatorURL',
  'groupKey',
  'endsAt',
  'service',
  'alertname',
  'truncatedAlerts',
  'groupStatus',
] as const satisfies readonly (keyof AlertRecord)[];

/** Alert records: one item per (group, fingerprint, startsAt, status), written once. */
export function createAlertRepository(db: Dynamo, alertTtlDays = 30): AlertRepository {
  const { doc, tableName, now, call, conditionalWrite, getItem, queryAll } = db;

  /**
   * Unexpired alert records among `records`, by `pk|sk`: BatchGetItem, 100 keys a call. Eventually
   * consistent (half the price): a record missed is caught by the conditional put, and one wrongly seen
   * as not yet folded only asks for one more refresh.
   */
  async function storedAlerts(records: AlertRecord[], nowSec: number): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const unique = new Map(
      records.map((r) => {
        const key = keys.alert(r.groupId, r.fingerprint, r.startsAt, r.status);
        return [`${key.pk}|${key.sk}`, key];
      }),
    );
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += 100) {
      let pending: Item[] | undefined = all.slice(i, i + 100);
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** Math.min(attempt, 6)));
        const keysToRead: Item[] = pending;
        const out = await call('BatchGetItem', () =>
          doc.send(
            new BatchGetCommand({
              RequestItems: {
                [tableName]: {
                  Keys: keysToRead,
                  ProjectionExpression: 'pk, sk, #applied, #exp',
                  ExpressionAttributeNames: { '#applied': 'appliedTo', '#exp': 'expiresAt' },
                },
              },
            }),
          ),
        );
        for (const item of out.Responses?.[tableName] ?? []) {
          if (typeof item.expiresAt !== 'number' || item.expiresAt >= nowSec) found.set(`${item.pk}|${item.sk}`, item);
        }
        pending = out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
      }
    }
    return found;
  }

  /**
   * Marks a stored alert record as folded and drops what only folding needed (the incident holds it
   * now): the records a job reads past, and keeps until they expire, shrink to their keys. The same
   * write costs the same units. A missing (deleted, expired) record is left alone.
   */
  async function setApplied(record: AlertRecord, incidentId: string): Promise<void> {
    await conditionalWrite('UpdateItem', () =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status),
          UpdateExpression: `SET #applied = :id REMOVE ${FOLDED_AWAY.map((_, i) => `#r${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            '#applied': 'appliedTo',
            ...Object.fromEntries(FOLDED_AWAY.map((name, i) => [`#r${i}`, name])),
          },
          ExpressionAttributeValues: { ':id': incidentId },
        }),
      ),
    );
  }

  const alertExpiry = (record: AlertRecord) => {
    const from = Date.parse(record.receivedAt);
    return Math.floor((Number.isNaN(from) ? now() : from) / 1000) + Math.round(alertTtlDays * 86_400);
  };

  return {
    async recordAlerts(records: AlertRecord[]): Promise<RecordedAlert[]> {
      const nowSec = epochSeconds(now());
      // Re-sends and HA duplicates are the common case: one batched read finds them, so only new
      // alerts pay for a (conditional) write.
      const stored = await storedAlerts(records, nowSec);
      return mapLimit(records, CONCURRENCY, async (record) => {
        const key = keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status);
        const known = stored.get(`${key.pk}|${key.sk}`);
        if (known) return { record, created: false, applied: known.appliedTo !== undefined };
        if (
          await conditionalWrite('PutItem', () =>
            doc.send(
              new PutCommand({
                TableName: tableName,
                Item: { ...record, ...key, expiresAt: alertExpiry(record) },
                // An expired record that TTL has not deleted yet counts as gone.
                ConditionExpression: 'attribute_not_exists(pk) OR #exp < :now',
                ExpressionAttributeNames: { '#exp': 'expiresAt' },
                ExpressionAttributeValues: { ':now': nowSec },
              }),
            ),
          )
        ) {
          return { record, created: true, applied: false };
        }
        // Another delivery stored it between the read and the write.
        const item = await getItem(tableName, key);
        return { record, created: false, applied: item?.appliedTo !== undefined };
      });
    },

    async pendingAlerts(groupId: string): Promise<AlertRecord[]> {
      const items = await queryAll({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: `attribute_not_exists(#applied) AND (${notExpired})`,
        ExpressionAttributeNames: { '#applied': 'appliedTo', '#exp': 'expiresAt' },
        ExpressionAttributeValues: {
          ':pk': keys.groupState(groupId).pk,
          ':prefix': keys.alertPrefix,
          ':now': epochSeconds(now()),
        },
        ConsistentRead: true,
      });
      return items.map((item) => strip<AlertRecord>(item, ['pk', 'sk', 'queued', 'appliedTo', 'expiresAt']));
    },

    async markApplied(records: AlertRecord[], incidentId: string): Promise<void> {
      await mapLimit(records, CONCURRENCY, (r) => setApplied(r, incidentId));
    },
  };
}
