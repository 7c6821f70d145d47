import { type Incident, type IncidentEvent, MAX_JOB_DELAY_SECONDS } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { useEmulators } from '../helpers/emulators.js';
import { jobRunner, storeWithIncident } from '../helpers/stored-incident.js';
import { baseIncident } from '../sinks/incidents.js';

const emulators = useEmulators();
const NOW = Date.parse('2026-11-25T04:10:00.000Z');

async function setup(muteUntil: string, fields: Partial<Incident> = {}) {
  const { store, groupId } = await storeWithIncident(
    emulators(),
    baseIncident({ mute: { until: muteUntil, by: { id: 'U1', name: 'alice' } }, ...fields }),
  );
  const delivered: IncidentEvent[] = [];
  const { wakes, run } = jobRunner(store, groupId, {
    sinks: [{ name: 'probe', deliver: async (event) => void delivered.push(event) }],
    // No re-correlation: only the mute is under test.
    pacing: { refreshMs: 60_000, updateMinMs: 0, refreshForMs: 0 },
  });
  return { store, groupId, delivered, wakes, run };
}

describe('worker: muted incidents', () => {
  it('holds the notifications and wakes up (in SQS-sized steps) when the mute ends, then sends them', async () => {
    const { store, groupId, delivered, wakes, run } = await setup('2026-11-25T05:10:00.000Z');

    await run(NOW);

    expect(delivered).toEqual([]);
    // The counters are not notifications: they count at once.
    expect((await store.getStats()).incidentsOpened).toBe(1);
    expect(wakes).toEqual([{ job: expect.objectContaining({ groupId }), delaySeconds: MAX_JOB_DELAY_SECONDS }]);

    await run(Date.parse('2026-11-25T05:10:00.000Z'));

    expect(delivered.map((e) => e.type)).toEqual(['opened']);
  });

  it('schedules the last step to the moment the mute ends', async () => {
    const { wakes, run } = await setup('2026-11-25T04:12:00.000Z');

    await run(NOW);

    expect(wakes.map((w) => w.delaySeconds)).toEqual([120]);
  });

  it('never announces an incident that resolved while its opening was held, not even after the mute', async () => {
    // A recurrence of a muted, flapping group that resolves inside the window: a page now, or when the
    // mute ends, would be the very noise the mute holds back.
    const resolvedInMute: Partial<Incident> = {
      status: 'resolved',
      resolvedAt: '2026-11-25T04:05:00.000Z',
      resolution: 'all_alerts_resolved',
    };
    const { store, delivered, run } = await setup('2026-11-25T05:10:00.000Z', resolvedInMute);

    await run(NOW);
    await run(Date.parse('2026-11-25T06:00:00.000Z'));

    expect(delivered).toEqual([]);
    expect((await store.getStats()).incidentsResolved).toBe(1);
  });

  it('still sends the resolution to a sink that had the opening before the mute', async () => {
    const { store, groupId } = await storeWithIncident(
      emulators(),
      baseIncident({ status: 'resolved', resolvedAt: '2026-11-25T04:05:00.000Z', resolution: 'manual' }),
    );
    const incident = await store.getIncident(baseIncident().id);
    await store.claimNotification({ incidentId: baseIncident().id, event: 'opened', sink: 'probe' }, NOW, 60_000);
    await store.completeNotification({ incidentId: baseIncident().id, event: 'opened', sink: 'probe' }, NOW);
    await store.patchIncident(
      baseIncident().id,
      { mute: { until: '2026-11-25T05:10:00.000Z', by: { id: 'U1', name: 'alice' } } },
      incident?.version,
    );
    const delivered: IncidentEvent[] = [];
    const { run } = jobRunner(store, groupId, {
      sinks: [{ name: 'probe', deliver: async (event) => void delivered.push(event) }],
      pacing: { refreshMs: 60_000, updateMinMs: 0, refreshForMs: 0 },
    });

    await run(NOW);

    expect(delivered.map((e) => e.type)).toEqual(['resolved']);
  });

  it.each([
    ['sent a moment ago (the read of what was sent lags)', 'sent'],
    ['claimed by a delivery that timed out (it may have reached the sink)', 'claimed'],
  ] as const)('still sends the resolution to a sink whose opening was %s', async (_, state) => {
    const { store, groupId } = await storeWithIncident(
      emulators(),
      baseIncident({ status: 'resolved', resolvedAt: '2026-11-25T04:05:00.000Z', resolution: 'manual' }),
    );
    const opened = { incidentId: baseIncident().id, event: 'opened', sink: 'probe' } as const;
    await store.claimNotification(opened, NOW - 120_000, 60_000);
    if (state === 'sent') await store.completeNotification(opened, NOW - 120_000);
    const incident = await store.getIncident(baseIncident().id);
    await store.patchIncident(
      baseIncident().id,
      { mute: { until: '2026-11-25T05:10:00.000Z', by: { id: 'U1', name: 'alice' } } },
      incident?.version,
    );
    const delivered: IncidentEvent[] = [];
    const lagging = { ...store, sentNotifications: async () => [] };
    const { run } = jobRunner(lagging, groupId, {
      sinks: [{ name: 'probe', deliver: async (event) => void delivered.push(event) }],
      pacing: { refreshMs: 60_000, updateMinMs: 0, refreshForMs: 0 },
    });

    await run(NOW);

    expect(delivered.map((e) => e.type)).toContain('resolved');
  });
});
