import { createDynamoStore } from '@incident-pilot/aws';
import {
  type CorrelationJob,
  defaultEngineConfig,
  groupIdOf,
  ingestAlerts,
  ingestContext,
  parseAlertPayload,
  processJob,
  rules,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, useEmulators } from '../helpers/emulators.js';
import { jobRunner, storeWithIncident } from '../helpers/stored-incident.js';
import { baseIncident } from '../sinks/incidents.js';

const emulators = useEmulators();
const OPENED = Date.parse('2026-11-25T03:59:04.097Z');

/** An open incident whose stored findings are not what the engine finds now: its first refresh changes it. */
async function setup() {
  const incident = baseIncident();
  const { store, groupId } = await storeWithIncident(emulators(), incident);
  const { wakes, run } = jobRunner(store, groupId, {
    pacing: { refreshMs: 60_000, updateMinMs: 0, refreshForMs: 24 * 3_600_000 },
  });
  return { store, incident, groupId, wakes, run };
}

describe('worker: refresh pacing', () => {
  it('keeps the time of a refresh that changed the incident on the incident itself, and paces by it', async () => {
    const { store, incident, groupId, wakes, run } = await setup();
    const first = OPENED + 120_000;

    await run(first);
    const refreshed = await store.getIncident(incident.id);

    expect(refreshed?.findings).not.toEqual(incident.findings);
    expect(refreshed?.refreshedAt).toBe(new Date(first).toISOString());
    // Written with the incident: no separate write.
    expect(await store.lastRefresh(groupId)).toBeNull();

    // Within the interval: no refresh, a wake-up when it is due.
    await run(first + 10_000);
    expect(wakes.map((w) => w.delaySeconds)).toEqual([50]);
    expect((await store.getIncident(incident.id))?.version).toBe(refreshed?.version);
  });

  it('keeps the time of a refresh that changed nothing on the wake-up item, and paces by the later of both', async () => {
    const { store, incident, groupId, wakes, run } = await setup();
    const first = OPENED + 120_000;
    await run(first);
    const version = (await store.getIncident(incident.id))?.version;

    // Due again; the engine finds the same: the incident is not rewritten.
    await run(first + 61_000);
    expect((await store.getIncident(incident.id))?.version).toBe(version);
    expect(await store.lastRefresh(groupId)).toBe(first + 61_000);

    await run(first + 70_000);
    expect(wakes.map((w) => w.delaySeconds)).toEqual([51]);
  });
});

describe('worker: context that arrives while an incident opens', () => {
  it('wakes the opening incident for a deploy posted during its first correlation, and the refresh finds it', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    const startsAt = new Date(OPENED).toISOString();
    const [group] = parseAlertPayload(
      { labels: { alertname: 'HighErrorRate', service: 'checkout' }, startsAt },
      startsAt,
    );
    if (!group) throw new Error('no group');
    const groupId = groupIdOf(group.groupKey);
    const queued: { groupId: string; delaySeconds: number | undefined }[] = [];
    const queue = {
      enqueue: async (job: CorrelationJob, delaySeconds?: number) => void queued.push({ ...job, delaySeconds }),
    };
    await ingestAlerts({ store, queue }, [group], startsAt);
    const deploy = {
      service: 'checkout',
      commit: 'c0ffee1',
      author: 'dana',
      when: new Date(OPENED - 180_000).toISOString(),
    };
    const job = (nowMs: number, narrate: () => Promise<string> | string) =>
      processJob(
        {
          store,
          queue,
          sinks: [],
          rules,
          config: defaultEngineConfig,
          resolvePolicy: 'all',
          narrate,
          log: { info() {}, warn() {}, error() {} },
          now: () => nowMs,
        },
        { groupId, enqueuedAt: new Date(nowMs).toISOString() },
      );
    const opening = OPENED + 1_000;

    // The deploy tool posts while the first correlation is being narrated (an LLM call takes seconds).
    await job(opening, async () => {
      await ingestContext(
        { store, queue },
        'deploys',
        deploy,
        new Date(opening).toISOString(),
        Math.floor(OPENED / 1000) + 3600,
      );
      return 'narrated';
    });
    const woken = queued.filter((q) => q.groupId === groupId && q.delaySeconds !== undefined);
    await job(opening + 6_000, () => 'narrated');

    expect(woken).toHaveLength(1);
    const incidentId = (await store.getGroupState(groupId))?.lastIncidentId ?? '';
    const incident = await store.getIncident(incidentId);
    expect(incident?.findings.map((f) => f.ruleId)).toContain('deploy.recent_correlated');
  });
});

describe('context ingest: what wakes an open incident', () => {
  it('wakes no incident for log lines below ERROR: they change no finding', async () => {
    const store = createDynamoStore({ ...(await freshTables(emulators())), client: emulators().dynamoClient });
    await store.linkService('checkout', 'g-open', 'inc-open');
    const queued: CorrelationJob[] = [];
    const queue = { enqueue: async (job: CorrelationJob) => void queued.push(job) };
    const post = (level: string) =>
      ingestContext(
        { store, queue },
        'logs',
        [{ service: 'checkout', level, message: 'request served' }],
        new Date(OPENED).toISOString(),
        Math.floor(OPENED / 1000) + 3600,
      );

    await post('INFO');
    await post('WARN');
    expect(queued).toEqual([]);
    await post('ERROR');
    expect(queued.map((j) => j.groupId)).toEqual(['g-open']);
  });
});
