import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertRecord, AlertRepository, PendingAlerts, RecordedAlert } from '@incident-pilot/core';
import { keys } from '../tables.js';
import { CONCURRENCY, type Dynamo, epochSeconds, type Item, mapLimit, strip } from './client.js';

/**
 * How long a delivery may take from listing its alerts as pending to storing them: Lambda's longest
 * timeout. A pending entry whose records are still missing after it belongs to a delivery that died
 * (its retry lists them again), so folding may clear it.
 */
const DELIVERY_MAX_MS = 15 * 60_000;

const keyOf = (record: AlertRecord) => keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status);
const idOf = (key: Item) => `${key.pk}|${key.sk}`;
const stripRecord = (item: Item) =>
  strip<AlertRecord>(item, ['pk', 'sk', 'expiresAt', 'listed', 'appliedTo', 'queued']);

/**
 * Alert records, one item per (group, fingerprint, startsAt, status), written once, and each group's
 * pending list: one small entry per delivery naming the records it brought, deleted once they are
 * folded. A job reads only the entries and the records they name, so its work follows what is new,
 * not the group's history.
 */
export function createAlertRepository(db: Dynamo, alertTtlDays = 30): AlertRepository {
  const { doc, tableName, now, call, conditionalWrite, queryAll, batchGet, batchDelete } = db;

  const expiryOf = (receivedAt: string) => {
    const from = Date.parse(receivedAt);
    return Math.floor((Number.isNaN(from) ? now() : from) / 1000) + Math.round(alertTtlDays * 86_400);
  };
  const unexpired = (items: Item[], nowSec: number) =>
    items.filter((item) => typeof item.expiresAt !== 'number' || item.expiresAt >= nowSec);

  /** Lists records as pending in their groups: one entry per group, written before the records. */
  async function listPending(records: AlertRecord[]): Promise<void> {
    const byGroup = new Map<string, AlertRecord[]>();
    for (const r of records) {
      const group = byGroup.get(r.groupId);
      if (group) group.push(r);
      else byGroup.set(r.groupId, [r]);
    }
    await mapLimit([...byGroup], CONCURRENCY, ([groupId, group]) => {
      const receivedAt = group[0]?.receivedAt ?? new Date(now()).toISOString();
      return call('PutItem', () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...keys.pendingEntry(groupId, receivedAt, randomUUID()),
              records: [...new Set(group.map((r) => keyOf(r).sk))],
              listedAt: now(),
              expiresAt: expiryOf(receivedAt),
            },
          }),
        ),
      );
    });
  }

  const entriesOf = (groupId: string, limit?: number) =>
    queryAll(
      {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.groupState(groupId).pk, ':prefix': keys.pendingPrefix },
        ConsistentRead: true,
        ...(limit ? { Limit: limit } : {}),
      },
      limit,
    );

  return {
    async recordAlerts(records: AlertRecord[]): Promise<RecordedAlert[]> {
      const nowSec = epochSeconds(now());
      // Re-sends and HA duplicates are the common case: one batched, eventually consistent read finds
      // them (one it misses is caught by the conditional put), so only new alerts cost writes.
      const known = unexpired(
        await batchGet(tableName, [...new Map(records.map((r) => [idOf(keyOf(r)), keyOf(r)])).values()], {
          projection: 'pk, sk, #exp, #listed, #applied',
          names: { '#exp': 'expiresAt', '#listed': 'listed', '#applied': 'appliedTo' },
        }),
        nowSec,
      );
      const stored = new Set(known.map(idOf));
      // Stored by a version before pending entries and never folded: listed now, so a job finds it.
      const unlisted = new Set(known.filter((item) => !item.listed && !item.appliedTo).map(idOf));
      const fresh = records.filter((r) => !stored.has(idOf(keyOf(r))));
      const legacy = records.filter((r) => unlisted.has(idOf(keyOf(r))));
      // Listed first: a delivery that dies between the two leaves an entry, never an unlisted record.
      if (fresh.length + legacy.length > 0) await listPending([...fresh, ...legacy]);
      await mapLimit(legacy, CONCURRENCY, (record) =>
        conditionalWrite('UpdateItem', () =>
          doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: keyOf(record),
              UpdateExpression: 'SET #listed = :listed',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#listed': 'listed' },
              ExpressionAttributeValues: { ':listed': true },
            }),
          ),
        ),
      );
      return mapLimit(records, CONCURRENCY, async (record) => {
        if (!fresh.includes(record)) return { record, created: false };
        const created = await conditionalWrite('PutItem', () =>
          doc.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...record, ...keyOf(record), listed: true, expiresAt: expiryOf(record.receivedAt) },
              // An expired record that TTL has not deleted yet counts as gone.
              ConditionExpression: 'attribute_not_exists(pk) OR #exp < :now',
              ExpressionAttributeNames: { '#exp': 'expiresAt' },
              ExpressionAttributeValues: { ':now': nowSec },
            }),
          ),
        );
        return { record, created };
      });
    },

    async hasPending(groupId: string): Promise<boolean> {
      return (await entriesOf(groupId, 1)).length > 0;
    },

    async pendingAlerts(groupId: string): Promise<PendingAlerts> {
      const entries = await entriesOf(groupId);
      const names = new Set(entries.flatMap((e) => (Array.isArray(e.records) ? e.records.map(String) : [])));
      const pk = keys.groupState(groupId).pk;
      const found = unexpired(
        await batchGet(
          tableName,
          [...names].map((sk) => ({ pk, sk })),
          { consistent: true },
        ),
        epochSeconds(now()),
      );
      const have = new Set(found.map((item) => String(item.sk)));
      // An entry whose records are not all stored yet may belong to a delivery still in flight: it
      // stays for the next job, unless that delivery has long died.
      const settled = entries.filter(
        (e) =>
          (Array.isArray(e.records) && e.records.every((sk) => have.has(String(sk)))) ||
          Number(e.listedAt) < now() - DELIVERY_MAX_MS,
      );
      return { groupId, records: found.map(stripRecord), entries: settled.map((e) => String(e.sk)) };
    },

    async markApplied(pending: PendingAlerts): Promise<void> {
      const pk = keys.groupState(pending.groupId).pk;
      await batchDelete(pending.entries.map((sk) => ({ pk, sk })));
    },
  };
}
