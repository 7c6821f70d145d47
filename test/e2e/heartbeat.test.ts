/**
 * The dead man's switch on the local stack: Alertmanager's Watchdog is recorded as a heartbeat, its
 * absence opens "Alertmanager heartbeat missing" (announced like any incident), its return resolves it.
 * The check runs every 250 ms here, and the heartbeat is missing after 3 s (0.05 min).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaptureServer, slackMessages, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

/** What Alertmanager sends for the Watchdog routed to incident-pilot. */
const watchdog = () => ({
  version: '4',
  groupKey: '{}/{alertname="Watchdog"}:{alertname="Watchdog"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'incident-pilot-heartbeat',
  groupLabels: { alertname: 'Watchdog' },
  commonLabels: { alertname: 'Watchdog', severity: 'none' },
  commonAnnotations: { summary: 'Always firing: the alerting pipeline works' },
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'Watchdog', severity: 'none' },
      annotations: { summary: 'Always firing: the alerting pipeline works' },
      startsAt: '2026-11-30T08:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=vector%281%29',
      fingerprint: 'e3b0c44298fc1c14',
    },
  ],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const announced = (slack: CaptureServer) => slackMessages(slack).map(({ type, incidentId }) => ({ type, incidentId }));

describe('heartbeat (dead man’s switch) on the local stack', () => {
  let stack: TestStack;
  let slack: CaptureServer;

  beforeAll(async () => {
    slack = await startCaptureServer();
    stack = await startTestStack({
      heartbeatIntervalMs: 250,
      env: { INCIDENT_PILOT_HEARTBEAT_MINUTES: '0.05', INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook` },
    });
  });
  afterAll(async () => {
    await stack?.destroy();
    await slack?.close();
  });

  const missing = async () =>
    (await stack.api('/api/incidents?service=alertmanager')).body.incidents as {
      id: string;
      status: string;
      alertname: string;
      title: string;
    }[];

  it('records the Watchdog as a heartbeat, never as an alert or an incident', async () => {
    const res = await stack.api('/alerts', { body: watchdog() });
    await sleep(1000);

    expect(res).toMatchObject({ status: 202, body: { accepted: [], duplicates: 0, heartbeats: 1 } });
    expect((await stack.api('/api/incidents')).body.incidents).toEqual([]);
    expect((await stack.api('/api/stats')).body.alertsReceived).toBe(0);
  });

  it('opens "Alertmanager heartbeat missing" once when heartbeats stop, announced like any incident', async () => {
    await slack.waitForRequests(1, 15_000);
    // Many more checks run while it stays missing: still one incident, announced once.
    await sleep(1500);
    const incidents = await missing();

    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ status: 'open', alertname: 'AlertmanagerHeartbeatMissing' });
    expect(incidents[0]?.title).toContain('Alertmanager heartbeat missing');
    expect(announced(slack)).toEqual([{ type: 'opened', incidentId: incidents[0]?.id }]);
  });

  it('resolves it when heartbeats return, and announces the resolution', async () => {
    const [open] = await missing();

    await stack.api('/alerts', { body: watchdog() });
    await slack.waitForRequests(2, 15_000);
    const resolved = await waitFor(async () => {
      const [incident] = await missing();
      return incident?.status === 'resolved' ? incident : null;
    });

    expect(resolved.id).toBe(open?.id);
    expect(announced(slack)).toEqual([
      { type: 'opened', incidentId: open?.id },
      { type: 'resolved', incidentId: open?.id },
    ]);
  });

  it('opens a new incident, linked to the last, when heartbeats stop again', async () => {
    const [first] = await missing();

    await slack.waitForRequests(3, 15_000);
    const incidents = await missing();

    expect(incidents).toHaveLength(2);
    expect(incidents[0]).toMatchObject({ status: 'open', previousIncidentId: first?.id });
  });
});

describe('heartbeat after a restart of the local stack', () => {
  it('waits the whole time again before it says the heartbeat is missing', async () => {
    const env = { INCIDENT_PILOT_HEARTBEAT_MINUTES: '0.05' };
    const first = await startTestStack({ heartbeatIntervalMs: 250, env });
    await first.api('/alerts', { body: watchdog() });
    await first.stop();
    // Stopped for longer than the heartbeat may be missing (3 s): no check ran meanwhile.
    await sleep(3500);

    const second = await startTestStack({ heartbeatIntervalMs: 250, env, dataDir: first.dataDir });
    try {
      await sleep(1000);
      const soon = (await second.api('/api/incidents?service=alertmanager')).body.incidents;
      // Without a heartbeat since the restart, it is missing once the wait is over.
      const later = await waitFor(async () => {
        const { incidents } = (await second.api('/api/incidents?service=alertmanager')).body;
        return incidents.length > 0 ? incidents : null;
      });

      expect(soon).toEqual([]);
      expect(later).toMatchObject([{ status: 'open', alertname: 'AlertmanagerHeartbeatMissing' }]);
    } finally {
      await second.destroy();
    }
  });
});
