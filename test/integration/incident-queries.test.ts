import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoStore, type TableNames } from '@incident-pilot/aws';
import { FULL_VIEW_FIELDS, type Incident, type IncidentQuery, type Store } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, uniqueId, useEmulators } from '../helpers/emulators.js';

const NOW = Date.parse('2026-11-25T04:00:00.000Z');
const emulators = useEmulators();

function storeFor(names: TableNames): Store {
  return createDynamoStore({ ...names, client: emulators().dynamoClient, now: () => NOW });
}

/** An incident with every field set, heavy ones included (alerts, narration, timeline, pending changes). */
function incident(i: number, overrides: Partial<Incident> = {}): Incident {
  const openedAt = new Date(NOW - i * 60_000).toISOString();
  return {
    id: uniqueId('inc'),
    status: 'open',
    severity: 'high',
    service: 'api',
    alertname: 'HighLatency',
    title: `HighLatency on api #${i}`,
    team: 'payments',
    groupKey: `{}:{alertname="HighLatency",n="${i}"}`,
    openedAt,
    resolvedAt: null,
    resolution: null,
    lastSeenAt: openedAt,
    alertCount: 2,
    firingCount: 1,
    resolvedAlertCount: 1,
    truncatedAlerts: 0,
    alerts: [
      {
        fingerprint: '3ba65e5f562bd85b',
        startsAt: openedAt,
        endsAt: null,
        status: 'firing',
        labels: { alertname: 'HighLatency', service: 'api' },
        summary: 'HighLatency on api (instance-1)',
        lastSeenAt: openedAt,
      },
    ],
    overflowCount: 3,
    overflowResolvedCount: 1,
    commonLabels: { alertname: 'HighLatency', service: 'api' },
    pendingChanges: [{ kind: 'alerts_firing', summary: '2 more alerts firing' }],
    lastUpdate: { revision: 1, at: openedAt, changes: [{ kind: 'severity_up', summary: 'severity up' }] },
    findings: [
      {
        ruleId: 'deploy.recent_correlated',
        severity: 'high',
        confidence: 'high',
        summary: 'api was deployed 4 minutes before the alert',
        suggestion: 'kubectl rollout undo deployment/api',
        evidence: [{ kind: 'deploy', ref: 'abc1234', detail: 'deploy abc1234 by dana' }],
      },
    ],
    narration: 'x'.repeat(2000),
    previousIncidentId: null,
    timeline: [{ at: openedAt, type: 'opened', summary: 'opened' }],
    version: 1,
    ...overrides,
  };
}

/** Every page of a query, following the cursor (bounded). */
async function allPages(store: Store, query: Omit<IncidentQuery, 'cursor'>) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 50; n++) {
    const page = await store.listIncidents({ ...query, cursor });
    pages.push(page.items.map((i) => i.id));
    cursor = page.cursor;
    if (!cursor) break;
  }
  return pages;
}

describe('incident queries (DynamoDB store on dynalite)', () => {
  // 9 incidents, newest first: services api/web alternating, every third one resolved.
  async function seeded() {
    const store = storeFor(await freshTables(emulators()));
    const all = Array.from({ length: 9 }, (_, i) =>
      incident(i, {
        service: i % 2 ? 'web' : 'api',
        ...(i % 3 === 2 ? { status: 'resolved' as const, resolvedAt: new Date(NOW).toISOString() } : {}),
      }),
    );
    for (const i of [...all].reverse()) await store.createIncident(i);
    const ids = (pick: (i: Incident) => boolean) => all.filter(pick).map((i) => i.id);
    return { store, all, ids };
  }

  it.each<[string, Omit<IncidentQuery, 'limit' | 'cursor'>, (i: Incident) => boolean]>([
    ['every incident', {}, () => true],
    ['open ones', { status: 'open' }, (i) => i.status === 'open'],
    ['resolved ones', { status: 'resolved' }, (i) => i.status === 'resolved'],
    ['one service', { service: 'web' }, (i) => i.service === 'web'],
    ['one service, open', { service: 'api', status: 'open' }, (i) => i.service === 'api' && i.status === 'open'],
    [
      'one service, resolved',
      { service: 'api', status: 'resolved' },
      (i) => i.service === 'api' && i.status === 'resolved',
    ],
  ])('lists %s newest first, page by page, the cursor working for the filter', async (_, filter, pick) => {
    const { store, ids } = await seeded();

    const pages = await allPages(store, { ...filter, limit: 2 });

    expect(pages.flat()).toEqual(ids(pick));
    expect(pages.slice(0, -1).every((p) => p.length === 2)).toBe(true);
  });

  it('gives nothing for a service with no incidents', async () => {
    const { store } = await seeded();
    expect(await store.listIncidents({ limit: 5, service: 'nobody' })).toEqual({ items: [] });
  });

  it('lists the compact view without alerts, narration, timeline, pending changes, the same from every index', async () => {
    const { store, all } = await seeded();

    const viaService = (await store.listIncidents({ limit: 1, service: 'api' })).items[0];
    const viaAll = (await store.listIncidents({ limit: 1 })).items[0];
    const viaOpen = (await store.listIncidents({ limit: 1, status: 'open' })).items[0];

    const first = all[0] as Incident;
    const expected = Object.fromEntries(
      Object.entries(first).filter(([k]) => !(FULL_VIEW_FIELDS as readonly string[]).includes(k)),
    );
    expect(viaAll).toEqual(expected);
    // byService projects only the summary attributes: a field missing there would show up here.
    expect(viaService).toEqual(expected);
    expect(viaOpen).toEqual(expected);
  });

  it.each<[string, Omit<IncidentQuery, 'limit' | 'cursor'>]>([
    ['every incident', {}],
    ['open ones', { status: 'open' }],
    ['one service (its index holds summaries: the items are read by id)', { service: 'api' }],
  ])('lists whole incidents with view=full: %s', async (_, filter) => {
    const { store, all } = await seeded();

    const page = await store.listIncidents({ ...filter, limit: 2, view: 'full' });

    expect(page.items).toEqual(all.filter((i) => i.id === page.items[0]?.id || i.id === page.items[1]?.id));
    expect(page.items[0]).toHaveProperty('narration', 'x'.repeat(2000));
  });

  it('reads whole incidents by id, in the order asked, skipping unknown ids', async () => {
    const { store, all } = await seeded();
    const [a, b] = [all[3] as Incident, all[1] as Incident];

    const got = await store.getIncidents([a.id, 'inc-unknown', b.id]);

    expect(got).toEqual([a, b]);
  });

  it('reads more than one BatchGetItem call holds (100 keys)', async () => {
    const store = storeFor(await freshTables(emulators()));
    const many = Array.from({ length: 120 }, (_, i) => incident(i, { narration: 'short' }));
    for (const i of many) await store.createIncident(i);

    const got = await store.getIncidents(many.map((i) => i.id));

    expect(got.map((i) => i.id)).toEqual(many.map((i) => i.id));
  });

  it('asks again for the keys DynamoDB leaves unprocessed (throttling), and gets every incident', async () => {
    const names = await freshTables(emulators());
    const many = Array.from({ length: 5 }, (_, i) => incident(i, { narration: 'short' }));
    for (const i of many) await storeFor(names).createIncident(i);
    // A client of its own whose first BatchGetItem answer holds two items back as unprocessed.
    const client = new DynamoDBClient({
      endpoint: emulators().dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    let calls = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const out = result.output as {
          Responses?: Record<string, Record<string, unknown>[]>;
          UnprocessedKeys?: Record<string, { Keys: unknown[] }>;
        };
        if (out.Responses && calls++ === 0) {
          const items = out.Responses[names.incidentsTableName] ?? [];
          out.UnprocessedKeys = { [names.incidentsTableName]: { Keys: items.splice(0, 2).map((i) => ({ id: i.id })) } };
        }
        return result;
      },
      { step: 'initialize', priority: 'high' },
    );
    const store = createDynamoStore({ ...names, client, now: () => NOW });

    const got = await store.getIncidents(many.map((i) => i.id));

    expect(calls).toBe(2);
    expect(got.map((i) => i.id)).toEqual(many.map((i) => i.id));
  });
});
