import { createDynamoStore } from '@incident-pilot/aws';
import {
  type CorrelationJob,
  defaultEngineConfig,
  groupIdOf,
  type Incident,
  type Pacing,
  processJob,
  rules,
  type Sink,
  type Store,
} from '@incident-pilot/core';
import type { Emulators } from '../../packages/local/src/emulators.js';
import { freshTables } from './emulators.js';

/** A store on fresh tables holding `incident` as its group's open incident, as a worker leaves it. */
export async function storeWithIncident(emulators: Emulators, incident: Incident) {
  const store = createDynamoStore({ ...(await freshTables(emulators)), client: emulators.dynamoClient });
  const groupId = groupIdOf(incident.groupKey);
  await store.createIncident(incident);
  await store.putGroupState(
    {
      groupId,
      groupKey: incident.groupKey,
      seq: 1,
      openIncidentId: incident.id,
      lastIncidentId: incident.id,
      version: 1,
    },
    null,
  );
  return { store, groupId };
}

/**
 * Runs the worker's job for the group at a given time, with the default rules and templated narration,
 * and records the wake-ups it queues.
 */
export function jobRunner(store: Store, groupId: string, options: { sinks?: Sink[]; pacing: Pacing }) {
  const wakes: { job: CorrelationJob; delaySeconds: number | undefined }[] = [];
  const run = (nowMs: number) =>
    processJob(
      {
        store,
        queue: { enqueue: async (job, delaySeconds) => void wakes.push({ job, delaySeconds }) },
        sinks: options.sinks ?? [],
        rules,
        config: defaultEngineConfig,
        resolvePolicy: 'all',
        narrate: () => 'narrated',
        log: { info() {}, warn() {}, error() {} },
        now: () => nowMs,
        pacing: options.pacing,
      },
      { groupId, enqueuedAt: new Date(nowMs).toISOString() },
    );
  return { wakes, run };
}
