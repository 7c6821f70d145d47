/**
 * A group that fires again after its incident resolved, against the real store: the next incident is
 * opened (never the old one reopened), and what the old one still owes its sinks is not lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDynamoStore } from '@incident-pilot/aws';
import {
  defaultEngineConfig,
  groupIdOf,
  type IncidentEvent,
  ingestAlerts,
  notify,
  parseAlertPayload,
  processJob,
  type ResolvePolicy,
  resolveIncident,
  rules,
  type Sink,
  type Store,
  TransientError,
  type WorkerDeps,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, useEmulators } from '../helpers/emulators.js';
import { pauseFirstCall } from '../helpers/paused-store.js';

const emulators = useEmulators();

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

const SINGLE = fixture('firing-single-alert.json');
const GROUP_ID = groupIdOf(SINGLE.groupKey);
const STARTS = SINGLE.alerts[0].startsAt as string;

/** The single-alert notification, firing (since `startsAt`) or resolved (at `endsAt`). */
function notification(startsAt: string, endsAt?: string) {
  const body = structuredClone(SINGLE);
  const status = endsAt ? 'resolved' : 'firing';
  body.status = status;
  Object.assign(body.alerts[0], { status, startsAt, endsAt: endsAt ?? '0001-01-01T00:00:00Z' });
  return body;
}

/** The same notification with a second alert (instance-2) firing since `startsAt`. */
function grown(startsAt: string) {
  const body = notification(STARTS);
  const labels = { ...body.alerts[0].labels, instance: 'instance-2' };
  body.alerts.push({ ...body.alerts[0], labels, startsAt, fingerprint: 'de5fb8aca3578d06' });
  return body;
}

/**
 * A sink that records what it was sent, and fails while `down` is set (like a 503 from Slack). The next
 * event of the type `slow` names is held until `finish()`: Slack taking its time to answer.
 */
function probe(name = 'probe') {
  const sent: string[] = [];
  let finish = () => {};
  let started = () => {};
  const slowStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const state = {
    down: false,
    slow: undefined as IncidentEvent['type'] | undefined,
    slowStarted,
    finish: () => finish(),
  };
  const sink: Sink = {
    name,
    async deliver({ type, incident }: IncidentEvent) {
      if (state.down) throw new TransientError('probe answered 503');
      if (type === state.slow) {
        state.slow = undefined;
        started();
        await finished;
      }
      sent.push(`${type} ${incident.id}`);
    },
  };
  return { sink, sent, state };
}

async function setup(policy: ResolvePolicy = 'all') {
  const store: Store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
  const { sink, sent, state } = probe();
  const deps = (nowMs: number) => ({
    store,
    queue: { enqueue: async () => undefined },
    sinks: [sink],
    rules,
    config: defaultEngineConfig,
    resolvePolicy: policy,
    narrate: () => 'narrated',
    log: { info() {}, warn() {}, error() {} },
    now: () => nowMs,
    pacing: { refreshMs: 60_000, updateMinMs: 0, refreshForMs: 0 },
  });
  const deliver = (body: unknown, at: string) =>
    ingestAlerts({ store, queue: { enqueue: async () => undefined } }, parseAlertPayload(body, at), at);
  /** The group's job at `at`, with `overrides` in its dependencies (another store, other sinks). */
  const run = (at: string, overrides: Partial<WorkerDeps> = {}) =>
    processJob({ ...deps(Date.parse(at)), ...overrides }, { groupId: GROUP_ID, enqueuedAt: at });
  return { store, sent, sinkState: state, deliver, run, deps };
}

/**
 * A first incident, opened and announced, whose resolution is folded while the sink is down: the job
 * that would announce it failed and has not come back yet.
 */
async function resolutionMissed() {
  const ctx = await setup();
  await ctx.deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
  const first = await ctx.run('2026-11-25T04:00:01.000Z');
  await ctx.deliver(notification(STARTS, '2026-11-25T04:10:00.000Z'), '2026-11-25T04:10:01.000Z');
  ctx.sinkState.down = true;
  await expect(ctx.run('2026-11-25T04:10:02.000Z')).rejects.toThrow(TransientError);
  ctx.sinkState.down = false;
  return { ...ctx, first };
}

describe('worker: a group that fires again', () => {
  it("delivers the previous incident's resolution that a sink missed before the group fired again", async () => {
    const { store, sent, deliver, run, first } = await resolutionMissed();

    // The alert fires again before that job's retry: a new incident, announced by its own job.
    await deliver(notification('2026-11-25T04:20:00.000Z'), '2026-11-25T04:20:01.000Z');
    const second = await run('2026-11-25T04:20:02.000Z');
    await run('2026-11-25T04:20:30.000Z');

    expect(second.incidentId).not.toBe(first.incidentId);
    // Each event once, and on this sink the old incident's resolution before the new one's opening.
    expect(sent).toEqual([`opened ${first.incidentId}`, `resolved ${first.incidentId}`, `opened ${second.incidentId}`]);
    expect(await store.getStats()).toMatchObject({ incidentsOpened: 2, incidentsResolved: 1 });
  });

  it("delivers the previous incident's resolution though the read of what that incident was sent lags", async () => {
    const { store, sent, deliver, run, first } = await resolutionMissed();

    // The group fires again, and the eventually consistent read of the markers does not show them yet.
    await deliver(notification('2026-11-25T04:20:00.000Z'), '2026-11-25T04:20:01.000Z');
    const lagging: Store = { ...store, sentNotifications: async () => [] };
    const second = await run('2026-11-25T04:20:02.000Z', { store: lagging });

    expect(sent).toEqual([`opened ${first.incidentId}`, `resolved ${first.incidentId}`, `opened ${second.incidentId}`]);
  });

  it('sends a sink configured since the previous incident only the new one, not the old one it never had', async () => {
    const { sent, deliver, run, deps } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    const first = await run('2026-11-25T04:00:01.000Z');
    await deliver(notification(STARTS, '2026-11-25T04:10:00.000Z'), '2026-11-25T04:10:01.000Z');
    await run('2026-11-25T04:10:02.000Z');

    // A pager is set up, then the group fires again.
    const pager = probe('pager');
    await deliver(notification('2026-11-25T04:20:00.000Z'), '2026-11-25T04:20:01.000Z');
    const second = await run('2026-11-25T04:20:02.000Z', { sinks: [deps(0).sinks[0] as Sink, pager.sink] });

    expect(sent).toEqual([`opened ${first.incidentId}`, `resolved ${first.incidentId}`, `opened ${second.incidentId}`]);
    // Never a page for an incident that was over before the pager existed.
    expect(pager.sent).toEqual([`opened ${second.incidentId}`]);
  });

  it("waits for the previous incident's opened still on its way to a sink, then sends its resolution first", async () => {
    const { store, sent, sinkState, deliver, run } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    // The sink takes its time to accept the "opened" (a slow Slack; or a timeout, whose claim is kept).
    sinkState.slow = 'opened';
    const opening = run('2026-11-25T04:00:01.000Z');
    await sinkState.slowStarted;
    const firstId = (await store.getGroupState(GROUP_ID))?.lastIncidentId ?? '';

    // Meanwhile it is resolved by hand and the group fires again: the next incident's job runs.
    await resolveIncident({ store, narrate: () => 'narrated' }, firstId, '2026-11-25T04:00:03.000Z');
    await deliver(notification('2026-11-25T04:00:04.000Z'), '2026-11-25T04:00:05.000Z');
    await expect(run('2026-11-25T04:00:06.000Z')).rejects.toThrow(/being sent by another worker/);
    sinkState.finish();
    await opening;
    const second = await run('2026-11-25T04:01:10.000Z');

    // The first incident's resolution is owed to the sink that had its opened, and goes first.
    expect(second.incidentId).not.toBe(firstId);
    expect(sent).toEqual([`opened ${firstId}`, `resolved ${firstId}`, `opened ${second.incidentId}`]);
  });

  it('opens a new incident when an alert resolved by hand resolves and fires again', async () => {
    const { store, sent, deliver, run } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    const first = await run('2026-11-25T04:00:01.000Z');
    await resolveIncident({ store, narrate: () => 'narrated' }, first.incidentId ?? '', '2026-11-25T04:05:00.000Z');
    await run('2026-11-25T04:05:01.000Z');

    // Alertmanager resolves the alert later, then it fires again (a new startsAt).
    await deliver(notification(STARTS, '2026-11-25T04:10:00.000Z'), '2026-11-25T04:10:01.000Z');
    await run('2026-11-25T04:10:02.000Z');
    await deliver(notification('2026-11-25T04:20:00.000Z'), '2026-11-25T04:20:01.000Z');
    const second = await run('2026-11-25T04:20:02.000Z');

    expect(second).toMatchObject({ status: 'open' });
    expect(second.incidentId).not.toBe(first.incidentId);
    expect((await store.getIncident(second.incidentId ?? ''))?.previousIncidentId).toBe(first.incidentId);
    expect(sent).toEqual([`opened ${first.incidentId}`, `resolved ${first.incidentId}`, `opened ${second.incidentId}`]);
  });
});

describe('worker: a job of the resolved incident that overlaps the opening of the next one', () => {
  it('leaves the new incident linked to its service, so context posted for it still wakes it', async () => {
    const { store, deliver, run } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    const first = await run('2026-11-25T04:00:01.000Z');
    await deliver(notification(STARTS, '2026-11-25T04:10:00.000Z'), '2026-11-25T04:10:01.000Z');
    await run('2026-11-25T04:10:02.000Z');

    // A late job of the group (a retry, a wake-up) has nothing pending and has read the group state...
    const slow = pauseFirstCall(store, 'getGroupState');
    const at = '2026-11-25T04:20:02.000Z';
    const late = run(at, { store: slow.store });
    await slow.reached;
    // ...when the group fires again and another worker opens the next incident.
    await deliver(notification('2026-11-25T04:20:00.000Z'), '2026-11-25T04:20:01.000Z');
    const second = await run(at);
    slow.resume();
    await late;

    const service = (await store.getIncident(second.incidentId ?? ''))?.service ?? '';
    expect(second.incidentId).not.toBe(first.incidentId);
    expect(await store.groupsOfService(service)).toEqual([GROUP_ID]);
  });
});

describe('worker: an incident that resolves while its update is being sent', () => {
  it('sends the resolution only after that update, never before it', async () => {
    const { store, sent, sinkState, deliver, run } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    const { incidentId } = await run('2026-11-25T04:00:01.000Z');
    // A second alert joins: its job announces an update, which the sink takes its time to accept.
    await deliver(grown('2026-11-25T04:01:00.000Z'), '2026-11-25T04:01:01.000Z');
    sinkState.slow = 'updated';
    const updating = run('2026-11-25T04:01:02.000Z');
    await sinkState.slowStarted;

    // Meanwhile someone resolves it by hand, and that job runs on another worker.
    await resolveIncident({ store, narrate: () => 'narrated' }, incidentId ?? '', '2026-11-25T04:01:03.000Z');
    // The update is still in flight (held until `finish()`): that job is deferred, sending nothing.
    await expect(run('2026-11-25T04:01:04.000Z')).rejects.toThrow(/waits for update/);
    sinkState.finish();
    await updating;
    await run('2026-11-25T04:02:10.000Z');

    expect(sent).toEqual([`opened ${incidentId}`, `updated ${incidentId}`, `resolved ${incidentId}`]);
  });

  it('never sends an update that a resolution overtook on its way to the sink', async () => {
    const { store, sent, sinkState, deliver, run, deps } = await setup();
    await deliver(notification(STARTS), '2026-11-25T04:00:00.000Z');
    const { incidentId } = await run('2026-11-25T04:00:01.000Z');
    await deliver(grown('2026-11-25T04:01:00.000Z'), '2026-11-25T04:01:01.000Z');
    // The job that announces the update folds it, but its sink is down.
    sinkState.down = true;
    await expect(run('2026-11-25T04:01:02.000Z')).rejects.toThrow(TransientError);
    sinkState.down = false;
    const announced = await store.getIncident(incidentId ?? '');

    // Resolved by hand and announced; then a worker still holding the open incident gets to the sink.
    await resolveIncident({ store, narrate: () => 'narrated' }, incidentId ?? '', '2026-11-25T04:01:03.000Z');
    await run('2026-11-25T04:01:04.000Z');
    if (!announced) throw new Error('no incident');
    await notify(
      { ...deps(Date.parse('2026-11-25T04:01:05.000Z')) },
      announced,
      Date.parse('2026-11-25T04:01:05.000Z'),
    );

    expect(sent).toEqual([`opened ${incidentId}`, `resolved ${incidentId}`]);
  });
});
