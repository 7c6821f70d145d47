import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoStore, INCIDENTS_TABLE, keys, type TableNames } from '@incident-pilot/aws';
import {
  type AlertRecord,
  ConflictError,
  type GroupState,
  type Incident,
  type LogLevel,
  type NotificationKey,
  parseAlertPayload,
  STAT_NAMES,
  TransientError,
  ValidationError,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { startEmulators } from '../../packages/local/src/emulators.js';
import { sweepExpired } from '../../packages/local/src/ttl-sweeper.js';
import { freshTables, uniqueId, useEmulators } from '../helpers/emulators.js';
import { failNextRequests } from '../helpers/faults.js';

const NOW = Date.parse('2026-11-25T04:00:00.000Z');
const DAY = 86_400_000;
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/firing-group-3-alerts.json'), 'utf8'),
);

const emulators = useEmulators();

function storeFor(names: TableNames = emulators(), now = () => NOW) {
  return createDynamoStore({ ...names, client: emulators().dynamoClient, now });
}

/** A client of the emulator of its own, so a test can hook its requests without touching the others'. */
function ownClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: emulators().dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** A store whose requests are counted, with the capacity units DynamoDB bills them. */
function meteredStore(names: TableNames) {
  const client = ownClient();
  let units = 0;
  let requests = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of [consumed ?? []].flat() as { CapacityUnits?: number }[]) units += c.CapacityUnits ?? 0;
      requests += 1;
      return result;
    },
    { step: 'initialize' },
  );
  return {
    store: createDynamoStore({ ...names, client, now: () => NOW }),
    reset: () => {
      units = 0;
      requests = 0;
    },
    work: () => ({ requests, units }),
  };
}

/** A client whose PutItem requests of alert records fail (a delivery that dies after listing them). */
function failingRecordPuts(): DynamoDBClient {
  const client = ownClient();
  client.middlewareStack.add(
    (next) => async (args) => {
      const { Item } = args.input as { Item?: unknown };
      if (JSON.stringify(Item ?? {}).includes('"fingerprint"'))
        throw new InternalServerError({ message: 'injected', $metadata: {} });
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

/** The fixture's three alerts as records of a group no other test uses. */
function alertRecords(groupId = uniqueId('grp')): AlertRecord[] {
  const [group] = parseAlertPayload(structuredClone(fixture), new Date(NOW).toISOString());
  if (!group) throw new Error('fixture has no group');
  return group.alerts.map((alert) => ({
    ...alert,
    groupKey: group.groupKey,
    groupId,
    receivedAt: new Date(NOW).toISOString(),
    truncatedAlerts: group.truncatedAlerts,
    groupStatus: group.status,
  }));
}

function firstRecord(groupId?: string): AlertRecord {
  const [record] = alertRecords(groupId);
  if (!record) throw new Error('no record');
  // Empty strings and empty maps must survive the round trip.
  return { ...record, generatorURL: '', annotations: {}, labels: { ...record.labels, empty: '' } };
}

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: uniqueId('inc'),
    status: 'open',
    severity: 'high',
    service: 'api',
    alertname: 'HighLatency',
    title: 'HighLatency on api',
    team: 'payments',
    groupKey: '{}:{alertname="HighLatency"}',
    openedAt: '2026-11-25T03:59:10.000Z',
    resolvedAt: null,
    resolution: null,
    lastSeenAt: '2026-11-25T03:59:10.000Z',
    alertCount: 1,
    firingCount: 1,
    resolvedAlertCount: 0,
    truncatedAlerts: 0,
    alerts: [
      {
        fingerprint: '3ba65e5f562bd85b',
        startsAt: '2026-11-25T03:59:04.097Z',
        endsAt: null,
        status: 'firing',
        labels: { alertname: 'HighLatency', service: 'api' },
        summary: 'HighLatency on api (instance-1)',
        lastSeenAt: '2026-11-25T03:59:10.000Z',
      },
    ],
    findings: [
      {
        ruleId: 'deploy.recent_correlated',
        severity: 'high',
        confidence: 'high',
        summary: 'api was deployed 4 minutes before the alert',
        suggestion: 'kubectl rollout undo deployment/api',
        evidence: [{ kind: 'deploy', ref: 'abc1234', detail: 'deploy abc1234 by dana', at: '2026-11-25T03:55:00Z' }],
      },
    ],
    narration: 'api is slow since deploy abc1234.',
    previousIncidentId: null,
    version: 1,
    ...overrides,
  };
}

async function rawIncident(incidentsTableName: string, id: string) {
  const out = await emulators().dynamoClient.send(
    new GetItemCommand({ TableName: incidentsTableName, Key: { id: { S: id } } }),
  );
  return out.Item;
}

describe('DynamoDB store: alert records', () => {
  it('stores a record once and reports the duplicate; it is pending until marked folded', async () => {
    const store = storeFor();
    const record = firstRecord();

    const [first] = await store.recordAlerts([record]);
    const [again] = await store.recordAlerts([record]);
    const pending = await store.pendingAlerts(record.groupId);
    const hadPending = await store.hasPending(record.groupId);
    await store.markApplied(pending);

    expect(first).toEqual({ record, created: true });
    expect(again).toEqual({ record, created: false });
    expect(pending.records).toEqual([record]);
    expect(hadPending).toBe(true);
    expect(await store.pendingAlerts(record.groupId)).toMatchObject({ records: [], entries: [] });
    expect(await store.hasPending(record.groupId)).toBe(false);
    expect((await store.recordAlerts([record]))[0]?.created).toBe(false);
  });

  it('creates exactly one record out of 20 parallel identical deliveries', async () => {
    const store = storeFor();
    const record = firstRecord();

    const results = await Promise.all(Array.from({ length: 20 }, () => store.recordAlerts([record])));

    expect(results.flat().filter((r) => r.created)).toHaveLength(1);
    expect((await store.pendingAlerts(record.groupId)).records).toEqual([record]);
  });

  it('marks folded only what the job read: records stored meanwhile stay pending', async () => {
    const store = storeFor();
    const [a, b, c] = alertRecords() as [AlertRecord, AlertRecord, AlertRecord];
    await store.recordAlerts([a, b]);

    const read = await store.pendingAlerts(a.groupId);
    await store.recordAlerts([b, c]);
    await store.markApplied(read);

    expect(read.records).toHaveLength(2);
    expect((await store.pendingAlerts(a.groupId)).records).toEqual([c]);
  });

  it('reads only what is pending: a job after many folds reads as much as the first', async () => {
    const names = await freshTables(emulators());
    const metered = meteredStore(names);
    const groupId = uniqueId('grp');
    const cost: string[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: 5 }, (_, i) => ({
        ...firstRecord(groupId),
        fingerprint: (round * 5 + i).toString(16).padStart(16, '0'),
      }));
      await metered.store.recordAlerts(batch);
      metered.reset();
      const pending = await metered.store.pendingAlerts(groupId);
      cost.push(JSON.stringify(metered.work()));
      expect(pending.records).toHaveLength(5);
      await metered.store.markApplied(pending);
    }
    expect(new Set(cost)).toEqual(new Set([cost[0]]));
  });

  it('keeps records of different groups apart and ignores the group state item', async () => {
    const store = storeFor();
    const mine = alertRecords();
    const theirs = alertRecords();
    const groupId = mine[0]?.groupId ?? '';
    await store.recordAlerts([...mine, ...theirs]);
    await store.putGroupState(
      { groupId, groupKey: 'g', seq: 0, openIncidentId: null, lastIncidentId: null, version: 1 },
      null,
    );

    expect((await store.pendingAlerts(groupId)).records).toHaveLength(mine.length);
  });

  it('reads every record of a large delivery', async () => {
    const store = storeFor();
    const groupId = uniqueId('grp');
    const big = 'x'.repeat(10_000);
    // ~1.2 MB: more than one BatchGetItem (100 keys, 16 MB) and one query page (1 MB) would hold.
    const records = Array.from({ length: 120 }, (_, i) => ({
      ...firstRecord(groupId),
      fingerprint: i.toString(16).padStart(16, '0'),
      annotations: { description: big },
    }));
    await store.recordAlerts(records);

    expect((await store.pendingAlerts(groupId)).records).toHaveLength(120);
  });

  it('keeps an entry whose records a live delivery has not stored yet; clears it once that delivery is long dead', async () => {
    const names = await freshTables(emulators());
    const record = firstRecord();
    // The delivery listed its record, then died before storing it.
    const failing = createDynamoStore({ ...names, client: failingRecordPuts(), now: () => NOW });
    await expect(failing.recordAlerts([record])).rejects.toBeInstanceOf(TransientError);

    const soon = await storeFor(names, () => NOW + 60_000).pendingAlerts(record.groupId);
    const late = await storeFor(names, () => NOW + 16 * 60_000).pendingAlerts(record.groupId);

    expect(soon).toMatchObject({ records: [], entries: [] });
    expect(late.records).toEqual([]);
    expect(late.entries).toHaveLength(1);
  });

  it('lists a record stored before pending entries and never folded when it is delivered again, once', async () => {
    const names = await freshTables(emulators());
    const store = storeFor(names);
    const record = firstRecord();
    // As the version before pending entries left it: stored, no `appliedTo`, in no entry.
    await DynamoDBDocumentClient.from(emulators().dynamoClient).send(
      new PutCommand({
        TableName: names.tableName,
        Item: {
          ...record,
          ...keys.alert(record.groupId, record.fingerprint, record.startsAt, record.status),
          expiresAt: NOW / 1000 + DAY,
        },
      }),
    );
    expect((await store.pendingAlerts(record.groupId)).records).toEqual([]);

    const [again] = await store.recordAlerts([record]);
    const pending = await store.pendingAlerts(record.groupId);
    await store.markApplied(pending);
    await store.recordAlerts([record]);

    expect(again?.created).toBe(false);
    expect(pending.records).toEqual([record]);
    expect(await store.hasPending(record.groupId)).toBe(false);
  });

  it('treats records past their TTL as gone, even before DynamoDB deletes them', async () => {
    const record = firstRecord();
    await storeFor().recordAlerts([record]);
    const later = storeFor(emulators(), () => NOW + 31 * DAY);

    const pending = await later.pendingAlerts(record.groupId);
    const [again] = await later.recordAlerts([record]);

    expect(pending.records).toEqual([]);
    expect(again?.created).toBe(true);
  });
});

describe('DynamoDB store: context', () => {
  const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
  const expires = (ms: number) => Math.floor(ms / 1000);

  it('returns a service’s unexpired context inside the window, oldest first', async () => {
    const store = storeFor();
    const service = uniqueId('svc');
    const window = { fromMs: NOW - 10 * 60_000, toMs: NOW };
    await store.putContext(
      'deploys',
      [
        { service, commit: 'late', when: at(1) },
        { service, commit: 'at-end', when: at(0) },
        { service, commit: 'at-start', when: at(-10 * 60_000) },
        { service, commit: 'early', when: at(-10 * 60_000 - 1) },
        // Same instant written with an offset: stored under its UTC time.
        { service, commit: 'offset', when: '2026-11-25T05:55:00+02:00' },
      ],
      expires(NOW + DAY),
    );
    await store.putContext(
      'logs',
      [{ service, level: 'ERROR', message: 'old', timestamp: at(-60_000) }],
      expires(NOW - 1),
    );
    await store.putContext(
      'logs',
      [{ service, level: 'ERROR', message: 'boom', timestamp: at(-30_000) }],
      expires(NOW + DAY),
    );
    await store.putContext(
      'traces',
      [{ traceId: 't1', service: 'other', durationMs: 2000, timestamp: at(-1000) }],
      expires(NOW + DAY),
    );

    const context = await store.loadContext(service, { deploys: window, logs: window, traces: window }, NOW);

    expect(context.deploys.map((d) => d.commit)).toEqual(['at-start', 'offset', 'at-end']);
    expect(context.logs.map((l) => l.message)).toEqual(['boom']);
    expect(context.traces).toEqual([]);
  });

  it("keeps log lines below ERROR out of what a correlation reads: a chatty service's never crowd out its errors", async () => {
    const store = storeFor();
    const service = uniqueId('svc');
    const line = (level: LogLevel, message: string, msAgo: number) => ({
      service,
      level,
      message,
      timestamp: at(-msAgo),
    });
    await store.putContext(
      'logs',
      [line('ERROR', 'db timeout', 3000), line('INFO', 'request served', 2000), line('WARN', 'slow query', 1000)],
      expires(NOW + DAY),
    );

    const { logs } = await store.loadContext(service, { logs: { fromMs: NOW - 60_000, toMs: NOW } }, NOW);

    expect(logs.map((l) => l.message)).toEqual(['db timeout']);
  });

  it('stores a retried batch once but keeps identical lines within a batch', async () => {
    const store = storeFor();
    const service = uniqueId('svc');
    const line = { service, level: 'ERROR' as const, message: 'connection refused', timestamp: at(-1000) };
    await store.putContext('logs', [line, line, line], expires(NOW + DAY));
    await store.putContext('logs', [line, line, line], expires(NOW + DAY));

    const { logs } = await store.loadContext(service, { logs: { fromMs: NOW - 60_000, toMs: NOW } }, NOW);

    expect(logs).toEqual([line, line, line]);
  });

  it('writes batches larger than one BatchWriteItem call', async () => {
    const store = storeFor();
    const service = uniqueId('svc');
    const traces = Array.from({ length: 60 }, (_, i) => ({
      traceId: `t${i}`,
      service,
      durationMs: i,
      timestamp: at(-i * 1000),
    }));
    await store.putContext('traces', traces, expires(NOW + DAY));

    const loaded = await store.loadContext(service, { traces: { fromMs: NOW - 3_600_000, toMs: NOW } }, NOW);

    expect(loaded.traces.map((t) => t.traceId)).toEqual(traces.map((t) => t.traceId).reverse());
  });
});

describe('DynamoDB store: incidents', () => {
  it('creates an incident once and stores readable top-level attributes', async () => {
    const store = storeFor();
    const created = incident();

    expect(await store.createIncident(created)).toBe(true);
    expect(await store.createIncident({ ...created, title: 'other' })).toBe(false);
    expect(await store.getIncident(created.id)).toEqual(created);
    const raw = await rawIncident(emulators().incidentsTableName, created.id);
    expect(raw?.findings?.L?.[0]?.M?.ruleId).toEqual({ S: 'deploy.recent_correlated' });
    expect(raw?.alertCount).toEqual({ N: '1' });
    expect(raw?.openPk).toEqual({ S: 'open' });
  });

  it('packs the bulky fields no patch sets into one compressed attribute, and every read unpacks them', async () => {
    const names = await freshTables(emulators());
    const store = storeFor(names);
    const [alert] = incident().alerts;
    const bulky = incident({
      alerts: Array.from({ length: 20 }, (_, i) => ({
        ...structuredClone(alert as Incident['alerts'][number]),
        fingerprint: `3ba65e5f562bd8${String(i).padStart(2, '0')}`,
        labels: { alertname: 'HighLatency', service: 'api', pod: `api-7d9f8b6c5-${i}`, namespace: 'prod' },
        summary: `HighLatency on api (instance-${i})`,
      })),
      alertCount: 20,
      firingCount: 20,
      narration: 'api is slow since deploy abc1234. '.repeat(30),
      commonLabels: { alertname: 'HighLatency', service: 'api', namespace: 'prod' },
      pendingChanges: [{ kind: 'alerts_firing', summary: '19 more alerts firing' }],
      lastUpdate: { revision: 1, at: '2026-11-25T03:59:40.000Z', changes: [{ kind: 'severity_up', summary: 'high' }] },
      announced: { severity: 'high', findings: { 'deploy.recent_correlated|abc1234': 'high' } },
      timeline: [{ at: '2026-11-25T03:59:10.000Z', type: 'opened', summary: 'opened' }],
    });

    await store.createIncident(bulky);
    const raw = await rawIncident(names.incidentsTableName, bulky.id);
    const read = await store.getIncident(bulky.id);
    const batch = await store.getIncidents([bulky.id]);
    const slack = { channel: 'C0INCIDENTS', ts: '1764043150.000100' };
    const patched = await store.patchIncident(bulky.id, { slack });
    const listed = await store.listIncidents({ limit: 10, view: 'full' });

    for (const name of ['alerts', 'narration', 'commonLabels', 'pendingChanges', 'lastUpdate', 'announced']) {
      expect(raw?.[name], name).toBeUndefined();
    }
    const packedBytes = raw?.packed?.B?.length ?? Number.POSITIVE_INFINITY;
    expect(packedBytes).toBeLessThan(JSON.stringify([bulky.alerts, bulky.narration]).length / 4);
    // What an operator reads in the console, and what patches set, stay plain attributes.
    expect(raw).toMatchObject({
      id: { S: bulky.id },
      status: { S: 'open' },
      severity: { S: 'high' },
      service: { S: 'api' },
      alertname: { S: 'HighLatency' },
      title: { S: bulky.title },
      openedAt: { S: bulky.openedAt },
      resolvedAt: { NULL: true },
      alertCount: { N: '20' },
      timeline: { L: [{ M: { type: { S: 'opened' } } }] },
    });
    expect(raw?.findings?.L?.[0]?.M?.evidence?.L?.[0]?.M?.ref).toEqual({ S: 'abc1234' });
    expect(read).toEqual(bulky);
    expect(batch).toEqual([bulky]);
    expect(patched).toEqual({ ...bulky, slack, version: 2 });
    expect(listed.items).toEqual([patched]);
  });

  it('reads, patches and rewrites an incident stored before packing (plain alerts and narration)', async () => {
    const names = await freshTables(emulators());
    const store = storeFor(names);
    const old = incident({ commonLabels: { alertname: 'HighLatency', service: 'api' } });
    const doc = DynamoDBDocumentClient.from(emulators().dynamoClient);
    await doc.send(
      new PutCommand({
        TableName: names.incidentsTableName,
        Item: { ...old, listPk: 'incident', openPk: 'open', fingerprints: old.alerts.map((a) => a.fingerprint) },
      }),
    );

    const read = await store.getIncident(old.id);
    const listed = await store.listIncidents({ limit: 10, view: 'full' });
    const patched = await store.patchIncident(old.id, { acknowledgedAt: '2026-11-25T04:01:00.000Z' });
    const next = { ...patched, alertCount: 2, version: 3 };
    await store.updateIncident(next, 2);

    expect(read).toEqual(old);
    expect(listed.items).toEqual([old]);
    expect(patched).toEqual({ ...old, acknowledgedAt: '2026-11-25T04:01:00.000Z', version: 2 });
    expect(await store.getIncident(old.id)).toEqual(next);
    const raw = await rawIncident(names.incidentsTableName, old.id);
    expect(raw?.alerts).toBeUndefined();
    expect(raw?.packed?.B).toBeDefined();
  });

  it('answers null for an unknown incident', async () => {
    expect(await storeFor().getIncident(uniqueId('missing'))).toBeNull();
  });

  it('updates at the expected version and rejects a stale one with ConflictError', async () => {
    const store = storeFor();
    const v1 = incident();
    await store.createIncident(v1);
    const v2 = { ...v1, alertCount: 2, version: 2 };

    await store.updateIncident(v2, 1);
    const stale = store.updateIncident({ ...v1, title: 'lost update', version: 2 }, 1);

    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect(await store.getIncident(v1.id)).toEqual(v2);
  });

  it('rejects an update of an incident that does not exist', async () => {
    await expect(storeFor().updateIncident(incident(), 1)).rejects.toBeInstanceOf(ConflictError);
  });

  it('lists incidents newest first, page by page', async () => {
    const store = storeFor(await freshTables(emulators()));
    const all = Array.from({ length: 7 }, (_, i) =>
      incident({ openedAt: new Date(NOW - i * 60_000).toISOString(), status: i % 2 ? 'resolved' : 'open' }),
    );
    for (const i of [...all].reverse()) await store.createIncident(i);

    const page1 = await store.listIncidents({ limit: 3 });
    const page2 = await store.listIncidents({ limit: 3, cursor: page1.cursor });
    const page3 = await store.listIncidents({ limit: 3, cursor: page2.cursor });

    expect([page1, page2, page3].map((p) => p.items.length)).toEqual([3, 3, 1]);
    expect([...page1.items, ...page2.items, ...page3.items].map((i) => i.id)).toEqual(all.map((i) => i.id));
    expect(page2.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(page3.cursor).toBeUndefined();
  });

  it('gives no cursor when the last page is exactly full', async () => {
    const store = storeFor(await freshTables(emulators()));
    for (let i = 0; i < 3; i++) await store.createIncident(incident({ openedAt: new Date(NOW - i).toISOString() }));

    expect((await store.listIncidents({ limit: 3 })).cursor).toBeUndefined();
  });

  it.each([
    ['garbage', '!!not base64!!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['the wrong shape', Buffer.from(JSON.stringify({ id: 1 })).toString('base64url')],
    ['extra keys', Buffer.from(JSON.stringify({ id: 'a', openedAt: 'b', listPk: 'x' })).toString('base64url')],
  ])('rejects a cursor that is %s with a ValidationError naming cursor', async (_, cursor) => {
    const error = await storeFor()
      .listIncidents({ limit: 3, cursor })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual(['cursor']);
  });

  it('lists only open incidents, through the sparse index, as the duplicate rule sees them', async () => {
    const names = await freshTables(emulators());
    const store = storeFor(names);
    const older = incident({ openedAt: '2026-11-25T01:00:00.000Z' });
    const resolved = incident({ openedAt: '2026-11-25T02:00:00.000Z' });
    const newer = incident({ openedAt: '2026-11-25T03:00:00.000Z' });
    for (const i of [older, resolved, newer]) await store.createIncident(i);

    await store.updateIncident(
      { ...resolved, status: 'resolved', resolvedAt: '2026-11-25T03:30:00.000Z', version: 2 },
      1,
    );

    const open = await store.listOpenIncidents();
    expect(open.map((i) => i.id)).toEqual([newer.id, older.id]);
    expect(open[0]).toEqual({
      id: newer.id,
      service: newer.service,
      alertname: newer.alertname,
      groupKey: newer.groupKey,
      fingerprints: newer.alerts.map((a) => a.fingerprint),
      status: 'open',
      openedAt: newer.openedAt,
    });
    expect(open[0]?.fingerprints.length).toBeGreaterThan(0);
    const raw = await rawIncident(names.incidentsTableName, resolved.id);
    expect(raw?.[INCIDENTS_TABLE.openByOpenedAt.partitionKey]).toBeUndefined();
    expect(raw?.[INCIDENTS_TABLE.byOpenedAt.partitionKey]).toEqual({ S: 'incident' });
  });
});

describe('DynamoDB store: group state', () => {
  it('creates once, then writes only at the expected version', async () => {
    const store = storeFor();
    const state: GroupState = {
      groupId: uniqueId('grp'),
      groupKey: '{}:{alertname="HighLatency"}',
      seq: 1,
      openIncidentId: 'inc-1',
      lastIncidentId: 'inc-1',
      version: 1,
    };

    await store.putGroupState(state, null);
    const duplicateCreate = store.putGroupState(state, null);
    await expect(duplicateCreate).rejects.toBeInstanceOf(ConflictError);
    const next = { ...state, openIncidentId: null, version: 2 };
    await store.putGroupState(next, 1);
    const stale = store.putGroupState({ ...state, seq: 9, version: 2 }, 1);

    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect(await store.getGroupState(state.groupId)).toEqual(next);
    expect(await store.getGroupState(uniqueId('grp'))).toBeNull();
  });
});

describe('DynamoDB store: notification ledger', () => {
  const LEASE = 60_000;
  const key = (): NotificationKey => ({ incidentId: uniqueId('inc'), event: 'opened', sink: 'slack' });

  it("lists an incident's sent notifications, not the ones only claimed", async () => {
    const store = storeFor();
    const incidentId = uniqueId('inc');
    const opened: NotificationKey = { incidentId, event: 'opened', sink: 'slack' };
    const update: NotificationKey = { incidentId, event: 'updated', sink: 'slack', revision: 2 };
    const pending: NotificationKey = { incidentId, event: 'opened', sink: 'pagerduty' };
    for (const k of [opened, update, pending]) await store.claimNotification(k, NOW, LEASE);
    await store.completeNotification(opened, NOW);
    await store.completeNotification(update, NOW);

    const sent = await store.sentNotifications(incidentId, 2);

    expect(sent).toEqual(expect.arrayContaining([opened, update]));
    expect(sent).toHaveLength(2);
    expect(await store.sentNotifications(incidentId)).toEqual([opened]);
    expect(await store.sentNotifications(uniqueId('inc'))).toEqual([]);
  });

  it("reads an incident's sent markers in bounded work, however many updates it has had", async () => {
    const names = await freshTables(emulators());
    const metered = meteredStore(names);
    const send = async (k: NotificationKey) => {
      await metered.store.claimNotification(k, NOW, LEASE);
      await metered.store.completeNotification(k, NOW);
    };
    const incidentWith = async (updates: number) => {
      const incidentId = uniqueId('inc');
      await send({ incidentId, event: 'opened', sink: 'slack' });
      for (let revision = 1; revision <= updates; revision++) {
        await send({ incidentId, event: 'updated', sink: 'slack', revision });
      }
      await send({ incidentId, event: 'resolved', sink: 'slack' });
      metered.reset();
      const sent = await metered.store.sentNotifications(incidentId, updates);
      return { sent, work: metered.work() };
    };

    const young = await incidentWith(1);
    const old = await incidentWith(200);

    expect(old.sent.map((k) => `${k.event}.${k.revision ?? ''}`).sort()).toEqual([
      'opened.',
      'resolved.',
      'updated.200',
    ]);
    expect(old.work).toEqual(young.work);
  });

  it('claims, reports in-flight, completes and then reports already sent', async () => {
    const store = storeFor();
    const k = key();

    expect(await store.claimNotification(k, NOW, LEASE)).toBe('claimed');
    expect(await store.claimNotification(k, NOW + 1000, LEASE)).toBe('in_flight');
    await store.completeNotification(k, NOW + 2000);
    expect(await store.claimNotification(k, NOW + 3000, LEASE)).toBe('already_sent');
    await store.releaseNotification(k, NOW);
    expect(await store.claimNotification(k, NOW + 10 * LEASE, LEASE)).toBe('already_sent');
  });

  it('lets a released claim be claimed again', async () => {
    const store = storeFor();
    const k = key();
    await store.claimNotification(k, NOW, LEASE);

    await store.releaseNotification(k, NOW);

    expect(await store.claimNotification(k, NOW + 1, LEASE)).toBe('claimed');
  });

  it('leaves alone a claim that took over from the one being released', async () => {
    const store = storeFor();
    const k = key();
    await store.claimNotification(k, NOW, LEASE);
    expect(await store.claimNotification(k, NOW + LEASE + 1, LEASE)).toBe('claimed');

    // The first worker's send fails after its lease ran out: it must not free the second one's claim.
    await store.releaseNotification(k, NOW);

    expect(await store.claimNotification(k, NOW + LEASE + 2, LEASE)).toBe('in_flight');
  });

  it('takes over a claim older than the lease', async () => {
    const store = storeFor();
    const k = key();
    await store.claimNotification(k, NOW, LEASE);

    expect(await store.claimNotification(k, NOW + LEASE - 1, LEASE)).toBe('in_flight');
    expect(await store.claimNotification(k, NOW + LEASE + 1, LEASE)).toBe('claimed');
  });

  it('keeps the event and the sink apart', async () => {
    const store = storeFor();
    const k = key();
    await store.claimNotification(k, NOW, LEASE);

    expect(await store.claimNotification({ ...k, sink: 'stdout' }, NOW, LEASE)).toBe('claimed');
    expect(await store.claimNotification({ ...k, event: 'resolved' }, NOW, LEASE)).toBe('claimed');
  });

  it('grants exactly one of 20 parallel claims', async () => {
    const store = storeFor();
    const k = key();

    const results = await Promise.all(Array.from({ length: 20 }, () => store.claimNotification(k, NOW, LEASE)));

    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'in_flight')).toHaveLength(19);
  });
});

describe('DynamoDB store: overflow alerts', () => {
  const overflowRecords = (groupId: string, n: number, status: 'firing' | 'resolved') =>
    Array.from({ length: n }, (_, i) => ({
      ...firstRecord(groupId),
      fingerprint: (0x1000 + i).toString(16),
      status,
      endsAt: status === 'resolved' ? new Date(NOW + 60_000).toISOString() : null,
    }));

  const none = { alerts: 0, resolved: 0 };

  it('counts each alert once per written version, and again only for a version that was never written', async () => {
    const store = storeFor();
    const groupId = uniqueId('grp');
    const firing = overflowRecords(groupId, 5, 'firing');
    const resolving = overflowRecords(groupId, 3, 'resolved');

    const first = await store.applyOverflow(groupId, 'inc-1', firing, 2, none);
    // The write of version 2 failed; the retry counts the same alerts for version 2 again.
    const retry = await store.applyOverflow(groupId, 'inc-1', firing, 2, none);
    // Version 2 was written: a re-send for version 3 adds nothing.
    const resend = await store.applyOverflow(groupId, 'inc-1', firing, 3, retry);
    const resolved = await store.applyOverflow(groupId, 'inc-1', resolving, 4, resend);
    const resolvedAgain = await store.applyOverflow(groupId, 'inc-1', resolving, 5, resolved);

    expect(first).toEqual({ alerts: 5, resolved: 0 });
    expect(retry).toEqual({ alerts: 5, resolved: 0 });
    expect(resend).toEqual({ alerts: 5, resolved: 0 });
    expect(resolved).toEqual({ alerts: 5, resolved: 3 });
    expect(resolvedAgain).toEqual({ alerts: 5, resolved: 3 });
  });

  it('reads the counts back from the items when another worker wrote the version that counted an alert', async () => {
    const store = storeFor();
    const groupId = uniqueId('grp');

    // An attempt at version 2 counts 5 alerts and loses its write to another worker's version 2 without
    // them; its retry builds version 3 on that one.
    await store.applyOverflow(groupId, 'inc-1', overflowRecords(groupId, 5, 'firing'), 2, none);
    const retry = await store.applyOverflow(groupId, 'inc-1', overflowRecords(groupId, 5, 'firing'), 3, none);
    // The same for 3 resolutions at version 4, lost to another version 4.
    await store.applyOverflow(groupId, 'inc-1', overflowRecords(groupId, 3, 'resolved'), 4, retry);
    const resolved = await store.applyOverflow(groupId, 'inc-1', overflowRecords(groupId, 3, 'resolved'), 5, retry);

    expect(retry).toEqual({ alerts: 5, resolved: 0 });
    expect(resolved).toEqual({ alerts: 5, resolved: 3 });
  });

  it('keeps the counts of an incident open longer than alert records live, its alerts re-sent after theirs expired', async () => {
    const names = await freshTables(emulators());
    let now = NOW;
    const store = storeFor(names, () => now);
    const groupId = uniqueId('grp');
    const firing = overflowRecords(groupId, 5, 'firing');
    const counted = await store.applyOverflow(groupId, 'inc-1', firing, 2, none);

    // 40 days on, the TTL has deleted what expired; Alertmanager still re-sends the 5 firing alerts, whose
    // records expired, so they reach the incident as new ones.
    now = NOW + 40 * DAY;
    await sweepExpired(emulators().dynamoClient, names.tableName, { now });
    const resent = firing.map((r) => ({ ...r, receivedAt: new Date(now).toISOString() }));
    const later = await store.applyOverflow(groupId, 'inc-1', resent, 3, counted);

    expect(later).toEqual({ alerts: 5, resolved: 0 });
  });

  it('counts an alert first seen resolved as an alert and a resolved one', async () => {
    const store = storeFor();
    const groupId = uniqueId('grp');

    const counts = await store.applyOverflow(groupId, 'inc-1', overflowRecords(groupId, 2, 'resolved'), 2, none);

    expect(counts).toEqual({ alerts: 2, resolved: 2 });
  });
});

describe('DynamoDB store: refresh pacing', () => {
  it('claims a wake-up unless one is pending within the horizon', async () => {
    const store = storeFor();
    const groupId = uniqueId('grp');

    const claims = [
      await store.claimWake(groupId, NOW + 5_000, NOW, NOW + 60_000),
      // Pending at NOW + 5 s: absorbed.
      await store.claimWake(groupId, NOW + 1_000, NOW + 1_000, NOW + 61_000),
      // A wake-up wanted before the pending one (horizon ends earlier): claimed.
      await store.claimWake(groupId, NOW + 2_000, NOW + 1_000, NOW + 2_000),
      // Once it has passed, the next trigger claims again.
      await store.claimWake(groupId, NOW + 10_000, NOW + 9_000, NOW + 69_000),
    ];

    expect(claims).toEqual([true, false, true, true]);
  });

  it('remembers the last refresh and the open groups of a service', async () => {
    const store = storeFor();
    const service = uniqueId('svc');
    await store.linkService(service, 'g1', 'inc-1');
    await store.linkService(service, 'g2', 'inc-2');
    await store.unlinkService(service, 'g1', 'inc-1');
    // The group's next incident, linked meanwhile, stays linked when the previous one unlinks late.
    await store.linkService(service, 'g2', 'inc-3');
    await store.unlinkService(service, 'g2', 'inc-2');
    await store.markRefreshed('g2', NOW);

    expect(await store.groupsOfService(service)).toEqual(['g2']);
    expect(await store.lastRefresh('g2')).toBe(NOW);
    expect(await store.lastRefresh(uniqueId('grp'))).toBeNull();
  });

  it('wins a claim whose write landed though its answer was lost (the SDK retried and found it claimed)', async () => {
    const client = ownClient();
    let answers = 0;
    // Inside the SDK's retry loop: the first UpdateItem is applied, then fails as a timeout would.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'UpdateItemCommand' && answers++ === 0) {
          throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $metadata: {} });
        }
        return result;
      },
      { step: 'deserialize' },
    );
    const store = createDynamoStore({ ...emulators(), client, now: () => NOW });
    const groupId = uniqueId('grp');

    const claimed = await store.claimWake(groupId, NOW + 5_000, NOW, NOW + 60_000);
    // Another trigger inside the horizon is still absorbed by that claim.
    const again = await storeFor().claimWake(groupId, NOW + 6_000, NOW + 1_000, NOW + 61_000);

    expect(answers).toBe(2);
    expect(claimed).toBe(true);
    expect(again).toBe(false);
    client.destroy();
  });

  it('reads the open groups of a service strongly consistent: the worker links a group before it reads context', async () => {
    const client = ownClient();
    const queries: { ConsistentRead?: boolean }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries.push(args.input as { ConsistentRead?: boolean });
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = createDynamoStore({ ...emulators(), client, now: () => NOW });
    const service = uniqueId('svc');
    await store.linkService(service, 'g1', 'inc-1');

    expect(await store.groupsOfService(service)).toEqual(['g1']);
    expect(queries.map((q) => q.ConsistentRead)).toEqual([true]);
    client.destroy();
  });
});

describe('DynamoDB store: stats', () => {
  it('adds parallel increments without losing any and defaults the rest to 0', async () => {
    const store = storeFor(await freshTables(emulators()));

    await Promise.all(Array.from({ length: 20 }, () => store.addStats({ alertsReceived: 1, duplicatesDropped: 2 })));
    await store.addStats({});

    const stats = await store.getStats();
    expect(Object.keys(stats).sort()).toEqual([...STAT_NAMES].sort());
    expect(stats).toMatchObject({ alertsReceived: 20, duplicatesDropped: 40, incidentsOpened: 0 });
  });
});

describe('DynamoDB store: transient faults', () => {
  it.each([
    ['throttling', () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} })],
    ['a 5xx', () => new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } })],
  ])('maps %s to TransientError', async (_, makeError) => {
    const client = new DynamoDBClient({ ...clientConfig(emulators().dynamoEndpoint), maxAttempts: 1 });
    const store = createDynamoStore({ ...emulators(), client });
    failNextRequests(client, makeError);

    const error = await store.getIncident('x').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).not.toContain('boom');
    client.destroy();
  });

  it('maps a refused connection to TransientError', async () => {
    const client = new DynamoDBClient({ ...clientConfig('http://127.0.0.1:9'), maxAttempts: 1 });
    const store = createDynamoStore({ ...emulators(), client });

    await expect(store.getStats()).rejects.toBeInstanceOf(TransientError);
    client.destroy();
  });

  it('passes other errors through unchanged', async () => {
    const store = createDynamoStore({
      tableName: 'no-such-table',
      incidentsTableName: 'nope',
      client: emulators().dynamoClient,
    });

    const error = await store.getStats().catch((e: unknown) => e);

    expect(error).not.toBeInstanceOf(TransientError);
    expect((error as Error).name).toBe('ResourceNotFoundException');
  });
});

describe('DynamoDB store: persistence', () => {
  it('keeps data across a restart with the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'incident-pilot-'));
    try {
      const stored = incident();
      const first = await startEmulators({ dataDir });
      await createDynamoStore({ ...first, client: first.dynamoClient }).createIncident(stored);
      await first.stop();

      const second = await startEmulators({ dataDir });
      const reloaded = await createDynamoStore({ ...second, client: second.dynamoClient }).getIncident(stored.id);
      await second.stop();

      expect(reloaded).toEqual(stored);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory that a running emulator holds', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'incident-pilot-'));
    const running = await startEmulators({ dataDir });
    try {
      await expect(startEmulators({ dataDir })).rejects.toThrow(/in use by process/);
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function clientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

// Keeps the key builders honest: they are what an operator types into the console.
describe('table keys', () => {
  it('formats keys as documented', () => {
    expect(keys.alert('g1', 'ab', '2026-11-25T03:59:04.097Z', 'firing')).toEqual({
      pk: 'G#g1',
      sk: 'A#ab#2026-11-25T03:59:04.097Z#firing',
    });
    expect(keys.notification('inc-1', 'opened', 'slack')).toEqual({ pk: 'N#inc-1', sk: 'opened#slack' });
  });
});
