/**
 * Fault injection in the worker: `processJob` against a real DynamoDB store (dynalite) whose calls
 * fail at random, and sinks that fail at random, driven the way SQS drives the worker: failed jobs
 * come back (up to 5 receives), the rest is parked in the DLQ and re-driven later with faults off.
 * Whatever fails where, each group ends with exactly one incident holding every accepted alert, and
 * each sink hears each incident's "opened" event exactly once.
 */
import { createDynamoStore } from '@incident-pilot/aws';
import {
  type CorrelationJob,
  defaultEngineConfig,
  fingerprintOf,
  groupIdOf,
  type Incident,
  type IncidentEventType,
  ingestAlerts,
  type JobQueue,
  type Logger,
  narrate,
  parseAlertPayload,
  processJob,
  rules,
  type Sink,
  type Store,
  TransientError,
  type WorkerDeps,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { prng } from '../../packages/local/src/storm-plan.js';
import { freshTables, useEmulators } from '../helpers/emulators.js';
import { pauseFirstCall } from '../helpers/paused-store.js';

const emulators = useEmulators();

/** The fault schedule is a function of the seed (jobs run one at a time); FAULT_SEED replays another. */
const SEED = Number(process.env.FAULT_SEED ?? 6);

interface Faults {
  on: boolean;
  rate: number;
  rng: () => number;
  /** Injected faults by `method:when`, for the sanity check that the run really was faulty. */
  injected: Map<string, number>;
}

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * The store with transient faults: half of them before the call reaches DynamoDB (nothing written),
 * half after it (written, but the answer was lost: a timeout). Both are what a Lambda sees under load.
 */
function faultyStore(store: Store, faults: Faults): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const fail = faults.on && faults.rng() < faults.rate;
        const after = fail && faults.rng() < 0.5;
        if (fail && !after) {
          count(faults.injected, `${String(prop)}:before`);
          throw new TransientError(`injected: DynamoDB ${String(prop)} failed`);
        }
        const result = await value.apply(target, args);
        if (after) {
          count(faults.injected, `${String(prop)}:after`);
          throw new TransientError(`injected: DynamoDB ${String(prop)} timed out after writing`);
        }
        return result;
      };
    },
  });
}

interface Delivery {
  sink: string;
  type: IncidentEventType;
  incidentId: string;
}

/** A sink that fails at random (like a 503 from Slack) and records every delivery it accepted. */
function recordingSink(name: string, deliveries: Delivery[], faults?: Faults): Sink {
  return {
    name,
    async deliver({ type, incident }) {
      if (faults?.on && faults.rng() < faults.rate) {
        count(faults.injected, `${name}:deliver`);
        throw new TransientError(`injected: ${name} answered 503`);
      }
      deliveries.push({ sink: name, type, incidentId: incident.id });
    },
  };
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** An Alertmanager notification for group `n`, with `instances` alerts, as version 4 sends it. */
function notification(n: number, instances: number) {
  const groupLabels = { alertname: 'QueueBacklog', service: `svc-${n}` };
  const alerts = Array.from({ length: instances }, (_, i) => {
    const labels = { ...groupLabels, severity: 'critical', team: 'platform', instance: `instance-${i + 1}` };
    return {
      status: 'firing',
      labels,
      annotations: { summary: `QueueBacklog on svc-${n} (instance-${i + 1})` },
      startsAt: `2026-11-25T04:0${i}:00.5Z`,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint: fingerprintOf(labels),
    };
  });
  return {
    version: '4',
    receiver: 'webhook',
    status: 'firing',
    groupKey: `{}:{alertname="QueueBacklog", service="svc-${n}"}`,
    truncatedAlerts: 0,
    groupLabels,
    commonLabels: { ...groupLabels, severity: 'critical', team: 'platform' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:19093',
    alerts,
  };
}

/** A JobQueue that only collects: the queue is not under test here. */
function collectingQueue(): JobQueue & { jobs: CorrelationJob[] } {
  const jobs: CorrelationJob[] = [];
  return {
    jobs,
    async enqueue(job) {
      jobs.push(job);
    },
  };
}

async function setup() {
  const tables = await freshTables(emulators());
  const store = createDynamoStore({ ...tables, client: emulators().dynamoClient });
  const queue = collectingQueue();
  /** Ingests (fault-free: ingest is not under test), noting the fingerprints accepted per group key. */
  const accepted = new Map<string, Set<string>>();
  const ingest = async (payload: unknown, receivedAt: string) => {
    const groups = parseAlertPayload(payload, receivedAt);
    const result = await ingestAlerts({ store, queue }, groups, receivedAt);
    for (const group of groups) {
      const keys = accepted.get(group.groupKey) ?? new Set<string>();
      for (const a of group.alerts) {
        if (result.accepted.includes(`${a.fingerprint}@${a.startsAt}:${a.status}`)) keys.add(a.fingerprint);
      }
      accepted.set(group.groupKey, keys);
    }
    return result;
  };
  const allIncidents = async (): Promise<Incident[]> =>
    store.getIncidents((await store.listIncidents({ limit: 100 })).items.map((i) => i.id));
  return { store, queue, accepted, ingest, allIncidents };
}

function workerDeps(store: Store, sinks: Sink[], clock: { now: number }): WorkerDeps {
  return {
    store,
    // Wake-ups (refreshes, rate-limited updates) are not under test here.
    queue: { async enqueue() {} },
    sinks,
    rules,
    config: defaultEngineConfig,
    resolvePolicy: 'all',
    narrate: (i) => narrate(i),
    log: silent,
    now: () => clock.now,
  };
}

const openedPerSink = (deliveries: Delivery[], incidentId: string, sink: string) =>
  deliveries.filter((d) => d.incidentId === incidentId && d.sink === sink && d.type === 'opened').length;

describe('worker under injected faults (real DynamoDB store on dynalite)', () => {
  it('converges to one incident per group, every alert attached, each "opened" delivered exactly once per sink', async () => {
    const { store, queue, accepted, ingest, allIncidents } = await setup();
    const faults: Faults = { on: true, rate: 0.2, rng: prng(SEED), injected: new Map() };
    const deliveries: Delivery[] = [];
    const sinkNames = ['slack', 'pager'];
    const sinks = sinkNames.map((name) => recordingSink(name, deliveries, faults));
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const deps = workerDeps(faultyStore(store, faults), sinks, clock);
    const GROUPS = 8;
    const MAX_RECEIVES = 5;

    // SQS stand-in: every message is received until it succeeds or has been received MAX_RECEIVES times.
    type Message = { job: CorrelationJob; receives: number };
    let visible: Message[] = [];
    const parked: Message[] = [];
    let failedAttempts = 0;
    const take = () => {
      visible.push(...queue.jobs.splice(0).map((job) => ({ job, receives: 0 })));
    };
    /** One pass over the visible messages, one at a time (deterministic for the seed). */
    const pass = async () => {
      const next: Message[] = [];
      for (const message of visible) {
        message.receives += 1;
        try {
          await processJob(deps, message.job);
        } catch {
          failedAttempts += 1;
          (message.receives >= MAX_RECEIVES ? parked : next).push(message);
        }
      }
      visible = next;
      clock.now += 2_000;
    };

    // Wave 1: every group fires with 3 alerts.
    for (let n = 1; n <= GROUPS; n++) await ingest(notification(n, 3), '2026-11-25T04:05:00.000Z');
    take();
    await pass();
    // Wave 2, while retries are still pending: half the groups grow to 4 alerts (Alertmanager re-sends
    // the 3 known ones with the new one), and the other half get a plain re-send (duplicates only).
    for (let n = 1; n <= GROUPS; n++) {
      await ingest(notification(n, n % 2 === 0 ? 4 : 3), '2026-11-25T04:05:30.000Z');
    }
    take();
    while (visible.length > 0) await pass();

    // Later, an operator re-drives the DLQ. Faults are gone, and any claim a failed worker left
    // behind is long past its lease.
    faults.on = false;
    clock.now += 15 * 60_000;
    const redriveFailures: unknown[] = [];
    for (const message of parked) {
      await processJob(deps, message.job).catch((error: unknown) => redriveFailures.push(error));
    }

    // The run really was faulty, and some jobs really went through the DLQ.
    const injected = [...faults.injected.values()].reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThan(10);
    expect(failedAttempts).toBeGreaterThan(0);
    expect(parked.length).toBeGreaterThan(0);
    expect(redriveFailures).toEqual([]);

    const incidents = await allIncidents();
    // Every broken promise is listed, so one run shows all that went wrong (and for which seed).
    const violations: string[] = [];
    for (const [groupKey, fingerprints] of accepted) {
      const mine = incidents.filter((i) => i.groupKey === groupKey);
      if (mine.length !== 1) violations.push(`${groupKey}: ${mine.length} incidents`);
      for (const incident of mine) {
        const at = `${incident.id} (${groupKey})`;
        if (incident.status !== 'open') violations.push(`${at}: status ${incident.status}`);
        const attached = incident.alerts.map((a) => a.fingerprint).sort();
        if (incident.alertCount !== fingerprints.size || attached.join() !== [...fingerprints].sort().join()) {
          violations.push(`${at}: alertCount ${incident.alertCount}, ${fingerprints.size} alerts accepted`);
        }
        for (const sink of sinkNames) {
          const sent = openedPerSink(deliveries, incident.id, sink);
          if (sent !== 1) violations.push(`${at}: "opened" delivered ${sent} times to ${sink}`);
        }
      }
      const { records, entries } = await store.pendingAlerts(groupIdOf(groupKey));
      if (records.length + entries.length > 0) violations.push(`${groupKey}: ${records.length} alerts left pending`);
    }
    expect(violations, `seed ${SEED}`).toEqual([]);
    expect(incidents).toHaveLength(GROUPS);
    // Only groups that grew after their incident opened got an update ("1 new firing alert"): at most
    // one each, to every sink alike. Nothing else was announced: no resolution, no other incident.
    const updates = deliveries.filter((d) => d.type === 'updated');
    const grown = new Set(incidents.filter((i) => i.alertCount === 4).map((i) => i.id));
    expect(updates.every((d) => grown.has(d.incidentId))).toBe(true);
    for (const sink of sinkNames) {
      const ids = updates.filter((d) => d.sink === sink).map((d) => d.incidentId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(
        updates
          .filter((d) => d.sink === sinkNames[0])
          .map((d) => d.incidentId)
          .sort(),
      );
    }
    expect(deliveries).toHaveLength(GROUPS * sinkNames.length + updates.length);
    // The counters did not drift although their writes failed too: never an incident uncounted, and
    // counted twice only where a counter write was applied but reported as failed.
    const { incidentsOpened } = await store.getStats();
    expect(incidentsOpened).toBeGreaterThanOrEqual(GROUPS);
    expect(incidentsOpened).toBeLessThanOrEqual(GROUPS + (faults.injected.get('addStats:after') ?? 0));
  });

  it('10 concurrent runs of the same job open one incident and deliver once per sink', async () => {
    const { store, queue, ingest, allIncidents } = await setup();
    const deliveries: Delivery[] = [];
    const sinkNames = ['slack', 'pager'];
    const sinks = sinkNames.map((name) => recordingSink(name, deliveries));
    const deps = workerDeps(store, sinks, { now: Date.parse('2026-11-25T04:10:00Z') });
    await ingest(notification(1, 3), '2026-11-25T04:05:00.000Z');
    const [job] = queue.jobs;
    if (!job) throw new Error('ingest queued no job');

    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => processJob(deps, job)));
    // A run that lost a race fails with a retryable error and SQS hands the job back: re-run those.
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    for (const { reason } of lost) expect((reason as Error).name).toMatch(/^(TransientError|ConflictError)$/);
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    const retried = await Promise.all(lost.map(() => processJob(deps, job)));

    const incidents = await allIncidents();
    expect(incidents).toHaveLength(1);
    const [incident] = incidents;
    expect(incident).toMatchObject({ status: 'open', alertCount: 3, firingCount: 3 });
    const ids = new Set([
      ...outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.incidentId] : [])),
      ...retried.map((r) => r.incidentId),
    ]);
    expect([...ids]).toEqual([incident?.id]);
    for (const sink of sinkNames) expect(openedPerSink(deliveries, incident?.id ?? '', sink)).toBe(1);
    expect(deliveries).toHaveLength(sinkNames.length);
    expect(await store.getStats()).toMatchObject({ incidentsOpened: 1, notificationsSent: 2 });
  });
});

describe('worker retries after a partial failure (deterministic faults)', () => {
  /** Throws a TransientError on the `nth` call of `method` (after the write when `after`), once. */
  function failOnce(store: Store, method: keyof Store, options: { nth?: number; after?: boolean } = {}): Store {
    let calls = 0;
    return new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || prop !== method) return value;
        return async (...args: unknown[]) => {
          calls += 1;
          const hit = calls === (options.nth ?? 1);
          if (hit && !options.after) throw new TransientError(`injected: ${method} failed`);
          const result = await value.apply(target, args);
          if (hit) throw new TransientError(`injected: ${method} timed out after writing`);
          return result;
        };
      },
    });
  }

  it('a retry after "incident created, group state not written" still attaches alerts that arrived in between', async () => {
    const { store, queue, ingest, allIncidents } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(1, 3), '2026-11-25T04:05:00.000Z');
    const [job] = queue.jobs;
    if (!job) throw new Error('ingest queued no job');

    // The worker creates the incident, then DynamoDB fails on the group-state write.
    await expect(processJob(workerDeps(failOnce(store, 'putGroupState'), sinks, clock), job)).rejects.toThrow(
      TransientError,
    );
    // Before SQS hands the job back, the group grows: a 4th alert joins.
    await ingest(notification(1, 4), '2026-11-25T04:05:30.000Z');
    for (const j of queue.jobs) await processJob(workerDeps(store, sinks, clock), j);

    const incidents = await allIncidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ alertCount: 4, firingCount: 4 });
    expect(deliveries.filter((d) => d.type === 'opened')).toHaveLength(1);
  });

  it('a retry after "incident resolved, alerts not yet marked applied" opens no second incident', async () => {
    const { store, queue, ingest, allIncidents } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(4, 3), '2026-11-25T04:05:00.000Z');
    for (const j of queue.jobs.splice(0)) await processJob(workerDeps(store, sinks, clock), j);
    // The worker falls behind: the group grows to 4 alerts, then all 4 resolve, before the next job runs.
    await ingest(notification(4, 4), '2026-11-25T04:05:30.000Z');
    const resolved = notification(4, 4);
    resolved.status = 'resolved';
    for (const alert of resolved.alerts) Object.assign(alert, { status: 'resolved', endsAt: '2026-11-25T04:06:00Z' });
    await ingest(resolved, '2026-11-25T04:06:02.000Z');
    const jobs = queue.jobs.splice(0);
    const [job] = jobs;
    if (!job) throw new Error('ingest queued no job');

    // The fold resolves the incident, then DynamoDB fails while marking the records applied.
    await expect(processJob(workerDeps(failOnce(store, 'markApplied'), sinks, clock), job)).rejects.toThrow(
      TransientError,
    );
    clock.now += 2_000;
    for (const j of jobs) await processJob(workerDeps(store, sinks, clock), j);

    const incidents = await allIncidents();
    expect(incidents.map((i) => ({ status: i.status, alertCount: i.alertCount }))).toEqual([
      { status: 'resolved', alertCount: 4 },
    ]);
    expect(deliveries.map((d) => d.type)).toEqual(['opened', 'resolved']);
    expect(await store.pendingAlerts(job.groupId)).toMatchObject({ records: [], entries: [] });
  });

  it('a job that read the group state before another job folded its alerts still folds what arrived since', async () => {
    const { store, queue, ingest, allIncidents } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(6, 1), '2026-11-25T04:05:00.000Z');
    const [job] = queue.jobs.splice(0);
    if (!job) throw new Error('ingest queued no job');

    // Two workers get a job of the group; the slow one has read the group state (no incident yet)...
    const slow = pauseFirstCall(store, 'getGroupState');
    const slowJob = processJob(workerDeps(slow.store, sinks, clock), job);
    await slow.reached;
    // ...when the other opens the incident and clears what it folded, and the alert then resolves.
    await processJob(workerDeps(store, sinks, clock), job);
    const resolved = notification(6, 1);
    resolved.status = 'resolved';
    Object.assign(resolved.alerts[0] ?? {}, { status: 'resolved', endsAt: '2026-11-25T04:06:00Z' });
    await ingest(resolved, '2026-11-25T04:06:02.000Z');
    slow.resume();
    await slowJob;
    clock.now += 2_000;
    for (const j of queue.jobs.splice(0)) await processJob(workerDeps(store, sinks, clock), j);

    const incidents = await allIncidents();
    expect(incidents.map((i) => ({ status: i.status, alertCount: i.alertCount }))).toEqual([
      { status: 'resolved', alertCount: 1 },
    ]);
    expect(deliveries.map((d) => d.type)).toEqual(['opened', 'resolved']);
  });

  it('counts an alert past the ones an incident lists though another worker wrote the version that first counted it', async () => {
    const { store, queue, ingest, allIncidents } = await setup();
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', [])];
    /** Group 8 with `instances` alerts, all started at once; the first one resolved when `firstResolved`. */
    const large = (instances: number, firstResolved: boolean) => {
      const body = notification(8, instances);
      for (const alert of body.alerts) alert.startsAt = '2026-11-25T04:00:00.5Z';
      if (firstResolved) Object.assign(body.alerts[0] ?? {}, { status: 'resolved', endsAt: '2026-11-25T04:06:00Z' });
      return body;
    };
    // An incident that lists as many alerts as an incident lists.
    await ingest(large(50, false), '2026-11-25T04:05:00.000Z');
    for (const j of queue.jobs.splice(0)) await processJob(workerDeps(store, sinks, clock), j);
    // One of them resolves: a worker reads that and falls behind.
    await ingest(large(50, true), '2026-11-25T04:06:02.000Z');
    const [job] = queue.jobs.splice(0);
    if (!job) throw new Error('ingest queued no job');
    const behind = pauseFirstCall(store, 'pendingAlerts');
    const slowJob = processJob(workerDeps(behind.store, sinks, clock), job);
    await behind.reached;
    // A 51st alert joins; another worker counts it, and is about to write the incident...
    await ingest(large(51, true), '2026-11-25T04:07:00.000Z');
    const counting = pauseFirstCall(store, 'updateIncident', { before: true });
    const countingJob = processJob(workerDeps(counting.store, sinks, clock), job);
    await counting.reached;
    // ...when the first worker writes that version, without the 51st alert: the counting one folds again.
    behind.resume();
    await slowJob;
    counting.resume();
    await countingJob;

    const [incident] = await allIncidents();
    expect(incident).toMatchObject({ alertCount: 51, firingCount: 50, resolvedAlertCount: 1, overflowCount: 1 });
  });

  it('a sink delivery whose "sent" marker failed to be written is not delivered again on retry', async () => {
    const { store, queue, ingest } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(2, 3), '2026-11-25T04:05:00.000Z');
    const [job] = queue.jobs;
    if (!job) throw new Error('ingest queued no job');

    // Slack took the message; recording that it was sent failed once (DynamoDB 500 / throttling).
    const outcome = await processJob(workerDeps(failOnce(store, 'completeNotification'), sinks, clock), job).then(
      () => 'ok',
      (error: Error) => error.name,
    );
    // Whether the worker retried the marker itself (ok) or gave the job back (TransientError), a
    // redelivery of the job must not post the same message again.
    expect(['ok', 'TransientError']).toContain(outcome);
    clock.now += 2_000;
    await processJob(workerDeps(store, sinks, clock), job).catch(() => undefined);
    clock.now += 15 * 60_000;
    await processJob(workerDeps(store, sinks, clock), job).catch(() => undefined);

    expect(deliveries).toHaveLength(1);
  });

  it('a later job claims only what is still owed: nothing for an event already sent', async () => {
    const { store, queue, ingest } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(5, 3), '2026-11-25T04:05:00.000Z');
    for (const j of queue.jobs.splice(0)) await processJob(workerDeps(store, sinks, clock), j);
    const claims: string[] = [];
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'claimNotification') return typeof value === 'function' ? value.bind(target) : value;
        return (key: { event: string; sink: string }, ...rest: unknown[]) => {
          claims.push(`${key.event}#${key.sink}`);
          return value.call(target, key, ...rest);
        };
      },
    });

    // The group grows: the next job folds the new alert and announces it; "opened" went out already,
    // and the counters' sink takes no updates.
    await ingest(notification(5, 4), '2026-11-25T04:06:00.000Z');
    clock.now += 120_000;
    for (const j of queue.jobs.splice(0)) await processJob(workerDeps(counting, sinks, clock), j);

    expect(deliveries.map((d) => d.type)).toEqual(['opened', 'updated']);
    expect(claims).toEqual(['updated#slack']);
  });

  it('a claim whose answer was lost blocks others only until its lease expires, then delivers once', async () => {
    const { store, queue, ingest } = await setup();
    const deliveries: Delivery[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const sinks = [recordingSink('slack', deliveries)];
    await ingest(notification(3, 3), '2026-11-25T04:05:00.000Z');
    const [job] = queue.jobs;
    if (!job) throw new Error('ingest queued no job');

    await expect(
      processJob(workerDeps(failOnce(store, 'claimNotification', { after: true }), sinks, clock), job),
    ).rejects.toThrow(TransientError);
    // Within the lease the claim looks like another worker's delivery in flight: retry later.
    clock.now += 5_000;
    await expect(processJob(workerDeps(store, sinks, clock), job)).rejects.toThrow(/being sent by another worker/);
    expect(deliveries).toHaveLength(0);
    // Past the lease (60 s by default) the abandoned claim is taken over.
    clock.now += 60_000;
    await processJob(workerDeps(store, sinks, clock), job);
    await processJob(workerDeps(store, sinks, clock), job);
    expect(deliveries).toEqual([expect.objectContaining({ sink: 'slack', type: 'opened' })]);
  });
});
