import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type CaptureServer, slackMessages, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

/** A one-alert Alertmanager notification for the `checkout` service, started `startsAt`. */
function notification(startsAt: string, fingerprints = ['a1'], status: 'firing' | 'resolved' = 'firing') {
  return {
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate", service="checkout"}',
    status,
    receiver: 'incident-pilot',
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts: fingerprints.map((fingerprint) => ({
      status,
      labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'warning', instance: fingerprint },
      annotations: { summary: '5xx above 5%' },
      startsAt,
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: `00000000000000${fingerprint}`,
    })),
  };
}

const PACED = { INCIDENT_PILOT_UPDATE_MIN_SECONDS: '0', INCIDENT_PILOT_REFRESH_SECONDS: '1' };

describe('living incidents (local stack + fake Slack)', () => {
  let slack: CaptureServer;
  let stack: TestStack;
  afterEach(async () => {
    await stack?.destroy();
    await slack?.close();
  });

  const start = async (env: Record<string, string> = PACED) => {
    slack = await startCaptureServer();
    stack = await startTestStack({ env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook`, ...env } });
  };
  /** Each Slack message's type, with its whole body as text to search. */
  const messages = () =>
    slackMessages(slack).map((m, i) => ({ ...m, text: slack.requests[i]?.body.toString('utf8') ?? '' }));
  const incident = async () => (await stack.api('/api/incidents?limit=1&view=full')).body.incidents?.[0];

  it('alert first, context later: one update with the new findings, and the timeline says so', async () => {
    await start();
    const startsAt = new Date().toISOString();
    await stack.api('/alerts', { body: notification(startsAt) });
    await slack.waitForRequests(1);

    // The deploy record arrives late, and the error lines come after the alert's start.
    const now = Date.now();
    await stack.api('/context/deploys', {
      body: { service: 'checkout', commit: 'c0ffee1', author: 'dana', when: new Date(now - 4 * 60_000).toISOString() },
    });
    await stack.api('/context/logs', {
      body: Array.from({ length: 10 }, (_, i) => ({
        service: 'checkout',
        level: 'ERROR',
        message: `payment gateway timeout after ${3000 + i} ms`,
        timestamp: new Date(Date.parse(startsAt) + 200 + i * 20).toISOString(),
      })),
    });

    const updated = await waitFor(async () => messages().find((m) => m.type === 'updated'), 20_000);
    expect(updated.text).toContain('What changed since the last update');
    expect(updated.text).toContain('c0ffee1');
    expect(updated.text).toContain('payment gateway timeout after');
    const stored = await waitFor(async () => {
      const i = await incident();
      return i?.lastUpdate?.revision === 1 ? i : null;
    });
    expect(stored.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(
      expect.arrayContaining(['deploy.recent_correlated', 'logs.error_spike']),
    );
    expect(stored.timeline.map((e: { type: string }) => e.type)).toEqual(['opened', 'updated']);
    // Rules that first fired on the re-correlation count on the scoreboard.
    const { rules } = (await stack.api('/api/rules')).body;
    expect(rules.find((r: { id: string }) => r.id === 'deploy.recent_correlated')).toMatchObject({ fired: 1 });
    expect(stored.narration).toContain('Timeline');
    await new Promise((r) => setTimeout(r, 2500));
    expect(messages().filter((m) => m.type === 'updated')).toHaveLength(1);
  });

  it('a pure re-send (a refresh) notifies nobody when nothing changed', async () => {
    await start();
    const body = notification(new Date().toISOString());
    await stack.api('/alerts', { body });
    await slack.waitForRequests(1);

    for (let i = 0; i < 3; i++) {
      const resend = await stack.api('/alerts', { body });
      expect(resend.body).toMatchObject({ accepted: [], duplicates: 1 });
      await new Promise((r) => setTimeout(r, 1200));
    }

    expect(messages().map((m) => m.type)).toEqual(['opened']);
    expect((await incident()).timeline).toHaveLength(1);
  });

  it('merges changes within INCIDENT_PILOT_UPDATE_MIN_SECONDS into one update', async () => {
    await start({ INCIDENT_PILOT_UPDATE_MIN_SECONDS: '4', INCIDENT_PILOT_REFRESH_SECONDS: '1' });
    const startsAt = new Date().toISOString();
    const all = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'b1'];
    await stack.api('/alerts', { body: notification(startsAt, all.slice(0, 1)) });
    await slack.waitForRequests(1);

    // The group grows nine times in quick succession, as Alertmanager notifies a growing group.
    for (let n = 2; n <= all.length; n++) {
      await stack.api('/alerts', { body: notification(startsAt, all.slice(0, n)) });
    }

    const update = await waitFor(async () => messages().find((m) => m.type === 'updated'), 20_000);
    expect(update.text).toMatch(/new firing alerts? \(\d+ of \d+ firing\)/);
    const stored = await waitFor(async () => {
      const i = await incident();
      return i?.alertCount === all.length && !i.pendingChanges?.length ? i : null;
    }, 15_000);
    // Every announced revision reached Slack exactly once…
    await waitFor(async () => messages().filter((m) => m.type === 'updated').length >= stored.lastUpdate.revision);
    await new Promise((r) => setTimeout(r, 1000));
    expect(messages().filter((m) => m.type === 'updated')).toHaveLength(stored.lastUpdate.revision);
    // …never one per notification, and never two within the interval.
    const times = stored.timeline
      .filter((e: { type: string }) => e.type === 'updated')
      .map((e: { at: string }) => Date.parse(e.at));
    expect(times.length).toBeLessThan(all.length - 1);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(4000);
  });

  it('a partial resolution is an update; the full one resolves the incident and is not also an update', async () => {
    await start();
    const startsAt = new Date().toISOString();
    await stack.api('/alerts', { body: notification(startsAt, ['a1', 'a2']) });
    await slack.waitForRequests(1);

    const partial = notification(startsAt, ['a1', 'a2']);
    partial.alerts[0] = notification(startsAt, ['a1'], 'resolved').alerts[0] as (typeof partial.alerts)[0];
    await stack.api('/alerts', { body: partial });
    const update = await waitFor(async () => messages().find((m) => m.type === 'updated'), 15_000);
    await stack.api('/alerts', { body: notification(startsAt, ['a1', 'a2'], 'resolved') });
    await waitFor(async () => messages().find((m) => m.type === 'resolved'), 15_000);

    expect(update.text).toContain('Partially resolved: 1 of 2 alerts resolved');
    expect(messages().map((m) => m.type)).toEqual(['opened', 'updated', 'resolved']);
    expect((await incident()).timeline.map((e: { type: string }) => e.type)).toEqual(['opened', 'updated', 'resolved']);
  });

  it('delivers an update exactly once when Slack fails it first', async () => {
    await start();
    const startsAt = new Date().toISOString();
    await stack.api('/alerts', { body: notification(startsAt, ['a1']) });
    await slack.waitForRequests(1);

    slack.respondWith({ status: 500, body: 'oops' });
    await stack.api('/alerts', { body: notification(startsAt, ['a1', 'a2']) });

    await waitFor(async () => (messages().filter((m) => m.type === 'updated').length >= 2 ? true : null), 20_000);
    await new Promise((r) => setTimeout(r, 2500));
    // One refused by Slack, one accepted: the incident's update went out once.
    expect(slack.requests.map((r) => (r.json() as { text: string }).text.slice(0, 8))).toEqual([
      expect.stringMatching(/^\[MEDIUM\]/),
      'Update 1',
      'Update 1',
    ]);
  });
});

describe('local stack: notifications owed at a stop', () => {
  it('announces after a restart an incident whose Slack message failed before the stop', async () => {
    const slack = await startCaptureServer({ defaultResponse: { status: 500, body: 'down' } });
    const env = { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook` };
    const first = await startTestStack({ env });
    try {
      await first.api('/alerts', { body: notification(new Date().toISOString()) });
      await slack.waitForRequests(1);
      await first.stop();
      slack.respondWith();
      const attempts = slack.requests.length;
      slack.requests.length = 0;

      const second = await startTestStack({ dataDir: first.dataDir, env });
      try {
        await slack.waitForRequests(1, 15_000);
        await new Promise((r) => setTimeout(r, 2000));
        expect(attempts).toBeGreaterThanOrEqual(1);
        expect(slackMessages(slack).map((m) => m.type)).toEqual(['opened']);
        expect(second.requeued).toBeGreaterThanOrEqual(1);
      } finally {
        await second.stop();
      }
    } finally {
      await slack.close();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });

  it('announces after a restart an update that was waiting for its interval at the stop', async () => {
    const slack = await startCaptureServer();
    const env = {
      INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook`,
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: '8',
      INCIDENT_PILOT_REFRESH_SECONDS: '60',
    };
    const first = await startTestStack({ env });
    try {
      const startsAt = new Date().toISOString();
      await first.api('/alerts', { body: notification(startsAt, ['a1']) });
      await slack.waitForRequests(1);
      // The group grows: an update is owed, held until 8 s after the opening by a delayed job.
      await first.api('/alerts', { body: notification(startsAt, ['a1', 'a2']) });
      await waitFor(async () => {
        const i = (await first.api('/api/incidents?limit=1&view=full')).body.incidents?.[0];
        return i?.pendingChanges?.length > 0;
      });
      // Stopped before that job runs: the in-memory queue loses it.
      await first.stop();

      const second = await startTestStack({ dataDir: first.dataDir, env });
      try {
        await waitFor(async () => slackMessages(slack).find((m) => m.type === 'updated'), 20_000);
        expect(slackMessages(slack).map((m) => m.type)).toEqual(['opened', 'updated']);
      } finally {
        await second.stop();
      }
    } finally {
      await slack.close();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});
