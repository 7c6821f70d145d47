import { createDynamoHeartbeats, createDynamoStore } from '@incident-pilot/aws';
import {
  type CorrelationJob,
  checkHeartbeat,
  groupIdOf,
  HEARTBEAT_GROUP_KEY,
  ingestAlerts,
  type JobQueue,
  parseAlertPayload,
  TransientError,
  UnprocessableError,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, useEmulators } from '../helpers/emulators.js';

const emulators = useEmulators();
const RECEIVED = '2026-11-25T04:00:00.000Z';

/** A queue that records what it took and refuses the calls numbered in `failing` (1-based). */
function flakyQueue(failing: number[]): JobQueue & { queued: string[] } {
  let calls = 0;
  const queued: string[] = [];
  return {
    queued,
    async enqueue(job: CorrelationJob) {
      calls += 1;
      if (failing.includes(calls)) throw new TransientError('injected: SendMessage failed');
      queued.push(job.groupId);
    },
  };
}

describe('alert ingest over the real store', () => {
  it('never leaves a request half done: a retry after a failed enqueue queues every stored group', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    const body = ['Alpha', 'Beta', 'Gamma', 'Delta', 'Epsilon'].flatMap((alertname) =>
      [1, 2].map((n) => ({ labels: { alertname, service: 'db', instance: `i-${n}` }, startsAt: RECEIVED })),
    );
    const groups = parseAlertPayload(body, RECEIVED);
    const queue = flakyQueue([2]);

    await expect(ingestAlerts({ store, queue }, groups, RECEIVED)).rejects.toBeInstanceOf(TransientError);
    const queuedFirst = new Set(queue.queued);
    const retry = await ingestAlerts({ store, queue }, groups, RECEIVED);

    const groupIds = groups.map((g) => groupIdOf(g.groupKey));
    expect(groups).toHaveLength(5);
    // Every group was stored in the first attempt, one of them without its job; the retry queued that one.
    expect(queuedFirst.size).toBe(4);
    expect(retry).toEqual({ accepted: [], duplicates: 10 });
    expect(new Set(queue.queued)).toEqual(new Set(groupIds));
    for (const id of groupIds) expect((await store.pendingAlerts(id)).records).toHaveLength(2);
  });

  it('never strands stored alerts when the queue fails twice in a row: the second retry queues their job', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    const groups = parseAlertPayload({ labels: { alertname: 'Alpha', service: 'db' }, startsAt: RECEIVED }, RECEIVED);
    const groupId = groupIdOf(groups[0]?.groupKey ?? '');
    const queue = flakyQueue([1, 2]);

    // Stored, then the enqueue fails; the retry (nothing new) asks for a refresh, whose enqueue fails too.
    await expect(ingestAlerts({ store, queue }, groups, RECEIVED)).rejects.toBeInstanceOf(TransientError);
    await expect(ingestAlerts({ store, queue }, groups, RECEIVED)).rejects.toBeInstanceOf(TransientError);
    // The failed refresh gave its wake-up claim back, so the next retry can queue the job.
    await ingestAlerts({ store, queue }, groups, RECEIVED);

    expect(queue.queued).toEqual([groupId]);
    expect((await store.pendingAlerts(groupId)).records).toHaveLength(1);
  });

  it('queues a job for new alerts; a re-send asks for a refresh, one delayed job for a burst', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    const groups = parseAlertPayload({ labels: { alertname: 'Alpha', service: 'db' }, startsAt: RECEIVED }, RECEIVED);
    const groupId = groupIdOf(groups[0]?.groupKey ?? '');
    const queue = flakyQueue([]);

    await ingestAlerts({ store, queue }, groups, RECEIVED);
    // Not folded yet (its job may have been lost): a refresh, which folds whatever is pending.
    await ingestAlerts({ store, queue }, groups, RECEIVED);
    await ingestAlerts({ store, queue }, groups, RECEIVED);
    expect(queue.queued).toEqual([groupId, groupId]);

    await store.markApplied(await store.pendingAlerts(groupId));
    const later = new Date(Date.parse(RECEIVED) + 60_000).toISOString();
    await ingestAlerts({ store, queue }, groups, later);
    expect(queue.queued).toEqual([groupId, groupId, groupId]);
    await ingestAlerts({ store, queue }, groups, later);
    expect(queue.queued).toHaveLength(3);
  });
});

describe('heartbeat check over the real store', () => {
  it('stays missing when the clock steps back without a heartbeat, and still resolves when one returns', async () => {
    const tables = await freshTables(emulators());
    const store = createDynamoStore({ ...tables, client: emulators().dynamoClient });
    const heartbeats = createDynamoHeartbeats({ ...tables, client: emulators().dynamoClient });
    const queue = flakyQueue([]);
    const at = (minutes: number) => Date.parse(RECEIVED) + minutes * 60_000;
    const check = (minutes: number) =>
      checkHeartbeat({ store, queue, heartbeats }, { nowMs: at(minutes), minutes: 10, alertname: 'Watchdog' });
    await heartbeats.recordHeartbeat(RECEIVED);

    const opened = await check(11);
    // An NTP step (or a hand-set clock) puts the check's clock back 6 minutes: no heartbeat came.
    const afterStepBack = await check(5);
    const later = await check(12);
    await heartbeats.recordHeartbeat(new Date(at(13)).toISOString());
    const returned = await check(13.5);

    expect([opened, afterStepBack, later, returned]).toEqual(['opened', 'missing', 'missing', 'recovered']);
    // One firing alert, resolved only when the heartbeat was back.
    const records = (await store.pendingAlerts(groupIdOf(HEARTBEAT_GROUP_KEY))).records;
    expect(records.map((r) => [r.status, r.startsAt, r.endsAt]).sort()).toEqual([
      ['firing', new Date(at(10)).toISOString(), null],
      ['resolved', new Date(at(10)).toISOString(), new Date(at(13)).toISOString()],
    ]);
  });
});

describe('store refusals', () => {
  it('turns an item DynamoDB can never store into an UnprocessableError (final), not a TransientError', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    // Past the API's limits on purpose: only a bug could hand the store such a record.
    const [group] = parseAlertPayload({ labels: { alertname: 'Huge', service: 'db' } }, RECEIVED);
    const [alert] = group?.alerts ?? [];
    if (!group || !alert) throw new Error('no alert');
    const record = {
      ...alert,
      annotations: { description: 'x'.repeat(500_000) },
      groupKey: group.groupKey,
      groupId: groupIdOf(group.groupKey),
      receivedAt: RECEIVED,
      truncatedAlerts: 0,
      groupStatus: group.status,
    };
    await expect(store.recordAlerts([record])).rejects.toBeInstanceOf(UnprocessableError);
  });
});
