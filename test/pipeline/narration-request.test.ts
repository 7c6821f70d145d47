/**
 * The worker tells the narrator what each narration is for, so that only an opening report and an
 * announced update may cost an LLM call (against a real DynamoDB store on dynalite).
 */
import { createDynamoStore } from '@incident-pilot/aws';
import {
  defaultEngineConfig,
  fingerprintOf,
  type Incident,
  ingestAlerts,
  type JobQueue,
  type NarrationRequest,
  narrate,
  parseAlertPayload,
  processJob,
  rules,
  type WorkerDeps,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { freshTables, useEmulators } from '../helpers/emulators.js';

const emulators = useEmulators();
const silent = { info() {}, warn() {}, error() {} };

/** Alertmanager's notification of a group with `firing` of its `instances` alerts still firing. */
function notification(instances: number, firing = instances) {
  const groupLabels = { alertname: 'QueueBacklog', service: 'billing' };
  const alerts = Array.from({ length: instances }, (_, i) => {
    const labels = { ...groupLabels, severity: 'critical', instance: `instance-${i + 1}` };
    return {
      status: i < firing ? 'firing' : 'resolved',
      labels,
      annotations: { summary: 'QueueBacklog on billing' },
      startsAt: `2026-11-25T04:0${i}:00.000Z`,
      endsAt: i < firing ? '0001-01-01T00:00:00Z' : '2026-11-25T05:00:00.000Z',
      fingerprint: fingerprintOf(labels),
    };
  });
  return {
    version: '4',
    status: firing > 0 ? 'firing' : 'resolved',
    groupKey: '{}:{alertname="QueueBacklog", service="billing"}',
    truncatedAlerts: 0,
    groupLabels,
    commonLabels: { ...groupLabels, severity: 'critical' },
    commonAnnotations: {},
    alerts,
  };
}

describe('worker narration requests', () => {
  it('asks for "opened", then "updated" only for an announced revision, then "resolved"', async () => {
    const tables = await freshTables(emulators());
    const store = createDynamoStore({ ...tables, client: emulators().dynamoClient });
    const jobs: Parameters<JobQueue['enqueue']>[0][] = [];
    const queue: JobQueue = {
      async enqueue(job) {
        jobs.push(job);
      },
    };
    const requests: NarrationRequest[] = [];
    const clock = { now: Date.parse('2026-11-25T04:10:00Z') };
    const deps: WorkerDeps = {
      store,
      queue: { async enqueue() {} },
      sinks: [],
      rules,
      config: defaultEngineConfig,
      resolvePolicy: 'all',
      narrate: (incident: Incident, request: NarrationRequest) => {
        requests.push(request);
        return narrate(incident);
      },
      log: silent,
      now: () => clock.now,
    };
    const deliver = async (payload: unknown) => {
      const at = new Date(clock.now).toISOString();
      await ingestAlerts({ store, queue }, parseAlertPayload(payload, at), at);
      for (const job of jobs.splice(0)) await processJob(deps, job);
    };

    await deliver(notification(2));
    clock.now += 10 * 60_000; // past the minimum interval between updates
    await deliver(notification(3)); // a new firing alert: material, announced
    clock.now += 30_000;
    await deliver(notification(3, 0)); // all resolved

    expect(requests[0]).toEqual({ event: 'opened' });
    expect(requests).toContainEqual({ event: 'updated', material: true });
    expect(requests.at(-1)).toEqual({ event: 'resolved' });
    // Every other re-render (a refresh, a held-back change) stays templated.
    for (const r of requests.slice(1, -1)) expect(r.event).toBe('updated');
    expect(requests.filter((r) => r.event === 'updated' && r.material)).toHaveLength(1);
  });
});
