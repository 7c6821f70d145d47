import {
  type Incident,
  type IncidentEvent,
  ingestAlerts,
  MAX_JOB_DELAY_SECONDS,
  parseAlertPayload,
} from '@incident-pilot/core';
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

describe('worker: updates while muted', () => {
  /** An Alertmanager notification of the incident's group with one more firing alert. */
  const newAlert = (fingerprint: string, at: string) => ({
    version: '4',
    groupKey: baseIncident().groupKey,
    status: 'firing',
    receiver: 'incident-pilot',
    truncatedAlerts: 0,
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', service: 'checkout' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'HighErrorRate', service: 'checkout', instance: fingerprint },
        annotations: { summary: '5xx ratio above 5%' },
        startsAt: at,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint,
      },
    ],
  });

  it('sends what changed during the mute as one update when it ends, not only the last change', async () => {
    const { store, delivered, run } = await setup('2026-11-25T05:10:00.000Z');
    const queue = { enqueue: async () => undefined };
    const fire = async (fingerprint: string, atMs: number) => {
      const at = new Date(atMs).toISOString();
      await ingestAlerts({ store, queue }, parseAlertPayload(newAlert(fingerprint, at), at), at);
      await run(atMs);
    };

    // Two alerts join the group while it is muted, each in its own job (UPDATE_MIN_SECONDS 0).
    await fire('a000000000000001', NOW);
    await fire('a000000000000002', NOW + 600_000);
    expect(delivered).toEqual([]);

    await run(Date.parse('2026-11-25T05:10:00.000Z'));

    const updates = delivered.filter((e) => e.type === 'updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]?.changes?.map((c) => c.summary)).toEqual(['2 new firing alerts (3 of 3 firing)']);
  });
});
