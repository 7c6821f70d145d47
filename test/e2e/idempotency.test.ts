/**
 * The same Alertmanager delivery, many times over (retries, repeats, HA pairs), against the whole
 * local stack over HTTP with a fake Slack: one alert record per alert, one incident, one message.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CaptureServer, slackMessages, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long to keep listening after the expected message, to catch a duplicate (longer after the burst). */
const QUIET_MS = 2000;
const BURST_QUIET_MS = 3000;

describe('idempotent ingest (local stack + fake Slack)', () => {
  let stack: TestStack | undefined;
  let slack: CaptureServer | undefined;
  afterEach(async () => {
    await stack?.destroy();
    await slack?.close();
    stack = undefined;
    slack = undefined;
  });

  async function start() {
    slack = await startCaptureServer();
    stack = await startTestStack({ env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook` } });
    return { stack, slack };
  }

  /** Waits until `count` incidents exist, then returns them. */
  async function incidents(local: TestStack, count = 1) {
    return waitFor(async () => {
      const { body } = await local.api('/api/incidents');
      return body.incidents?.length >= count ? (body.incidents as Array<Record<string, unknown>>) : null;
    });
  }

  it('50 identical deliveries in parallel store 3 alerts once, open 1 incident and post 1 Slack message', async () => {
    const { stack: local, slack: hook } = await start();
    const payload = fixture('firing-group-3-alerts.json');

    const responses = await Promise.all(Array.from({ length: 50 }, () => local.api('/alerts', { body: payload })));

    for (const r of responses) expect(r.status).toBeGreaterThanOrEqual(200);
    for (const r of responses) expect(r.status).toBeLessThan(300);
    const accepted = responses.flatMap((r) => r.body.accepted as string[]);
    expect(accepted).toHaveLength(3);
    expect(new Set(accepted).size).toBe(3);
    expect(accepted.sort()).toEqual(
      payload.alerts
        .map((a: { fingerprint: string; startsAt: string }) => `${a.fingerprint}@${a.startsAt}:firing`)
        .sort(),
    );
    const duplicates = responses.reduce((sum, r) => sum + (r.body.duplicates as number), 0);
    expect(duplicates).toBe(50 * 3 - 3);

    await hook.waitForRequests(1, 15_000);
    await sleep(BURST_QUIET_MS);
    const [incident, ...others] = await incidents(local);
    expect(others).toEqual([]);
    expect(incident).toMatchObject({ status: 'open', alertCount: 3, groupKey: payload.groupKey });
    expect(slackMessages(hook)).toEqual([{ type: 'opened', incidentId: incident?.id }]);
    const stats = (await local.api('/api/stats')).body;
    expect(stats).toMatchObject({
      alertsReceived: 3,
      duplicatesDropped: 147,
      incidentsOpened: 1,
      notificationsSent: 1,
      notificationsFailed: 0,
    });
  });

  it("Alertmanager's repeat after repeat_interval (identical payload) changes nothing", async () => {
    const { stack: local, slack: hook } = await start();

    const first = await local.api('/alerts', { body: fixture('firing-repeat-1-initial.json') });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ duplicates: 0 });
    expect(first.body.accepted).toHaveLength(1);
    await hook.waitForRequests(1, 15_000);
    const [opened] = await incidents(local);

    const repeat = await local.api('/alerts', { body: fixture('firing-repeat-2-after-repeat-interval.json') });
    expect(repeat.status).toBe(202);
    expect(repeat.body).toMatchObject({ accepted: [], duplicates: 1 });
    await sleep(QUIET_MS);

    const all = await incidents(local);
    expect(all).toHaveLength(1);
    // Not even touched: the repeat carries nothing new.
    expect(all[0]).toEqual(opened);
    expect(slackMessages(hook)).toEqual([{ type: 'opened', incidentId: opened?.id }]);
    expect((await local.api('/api/stats')).body).toMatchObject({ alertsReceived: 1, duplicatesDropped: 1 });
  });

  it('an HA pair (two Alertmanagers, different receiver and externalURL, same group) opens one incident', async () => {
    const { stack: local, slack: hook } = await start();
    const base = fixture('firing-group-3-alerts.json');
    const peerA = { ...base, receiver: 'team-payments-a', externalURL: 'http://127.0.0.1:19093' };
    const peerB = { ...base, receiver: 'team-payments-b', externalURL: 'http://127.0.0.1:19094' };

    const [a, b] = await Promise.all([local.api('/alerts', { body: peerA }), local.api('/alerts', { body: peerB })]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect([...a.body.accepted, ...b.body.accepted]).toHaveLength(3);
    expect(a.body.duplicates + b.body.duplicates).toBe(3);
    // Each peer re-sends on its own group_interval; a late copy from the slower peer is a duplicate too.
    const late = await local.api('/alerts', { body: peerB });
    expect(late.body).toMatchObject({ accepted: [], duplicates: 3 });

    await hook.waitForRequests(1, 15_000);
    await sleep(QUIET_MS);
    const all = await incidents(local);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ alertCount: 3, groupKey: base.groupKey });
    expect(slackMessages(hook)).toEqual([{ type: 'opened', incidentId: all[0]?.id }]);
  });
});
