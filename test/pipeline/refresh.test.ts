import { describe, expect, it } from 'vitest';
import { useEmulators } from '../helpers/emulators.js';
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
