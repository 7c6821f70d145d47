/**
 * One Alertmanager group over time, through the whole local stack over HTTP with a fake Slack:
 * firing → grown → partially resolved → resolved → firing again. The later notifications are derived
 * from `firing-group-3-alerts.json` the way Alertmanager 0.25 builds them (see the fixtures README):
 * the same groupKey throughout, every not-yet-reported alert in each notification, an alert already
 * reported as resolved left out of later ones, top-level `resolved` only when every alert is.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOf, TransientError } from '@incident-pilot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { getRoot } from '../../functions/lib/composition.js';
import { type CaptureServer, slackMessages, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

interface Webhook {
  status: 'firing' | 'resolved';
  groupKey: string;
  truncatedAlerts: number;
  alerts: WebhookAlert[];
  [field: string]: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: API responses are arbitrary JSON, asserted field by field
type Json = any;

const fixture = (name: string): Webhook =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Go's zero time: what Alertmanager sends as a firing alert's `endsAt`. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** After the last expected message, how long to listen for one that should not come. */
const QUIET_MS = 1500;

const instanceOf = (a: WebhookAlert) => a.labels.instance;

/** The group's notifications, derived from the 3-alert fixture. */
function scenario() {
  const firing = fixture('firing-group-3-alerts.json');
  const [one] = firing.alerts;
  if (!one) throw new Error('fixture has no alerts');
  // A 4th instance starts firing later; Alertmanager computes its fingerprint from the labels.
  const labels4 = { ...one.labels, instance: 'instance-4' };
  const alert4: WebhookAlert = {
    ...one,
    labels: labels4,
    annotations: {
      ...one.annotations,
      summary: 'HighLatency on api (instance-4)',
      description: 'Error rate above 5% for 5 minutes on instance-4 of api.',
    },
    startsAt: '2026-11-25T03:59:40.5Z',
    fingerprint: fingerprintOf(labels4),
  };
  const grown: Webhook = { ...firing, alerts: [...firing.alerts, alert4] };
  const resolve = (a: WebhookAlert, endsAt: string): WebhookAlert => ({ ...a, status: 'resolved', endsAt });
  // instance-2 resolves; the group still fires, so the notification lists all 4 and stays `firing`.
  const partial: Webhook = {
    ...grown,
    status: 'firing',
    alerts: grown.alerts.map((a) => (instanceOf(a) === 'instance-2' ? resolve(a, '2026-11-25T04:01:10.5Z') : a)),
  };
  // The rest resolve: only those 3 are sent (instance-2 was already reported resolved), status `resolved`.
  const resolved: Webhook = {
    ...grown,
    status: 'resolved',
    commonLabels: { alertname: 'HighLatency', service: 'api', severity: 'critical', team: 'payments' },
    alerts: grown.alerts
      .filter((a) => instanceOf(a) !== 'instance-2')
      .map((a) => resolve(a, '2026-11-25T04:02:20.25Z')),
  };
  // Later the same label sets fire again: same groupKey and fingerprints, a new startsAt.
  const again: Webhook = {
    ...firing,
    alerts: firing.alerts.map((a) => ({ ...a, startsAt: '2026-11-25T04:30:04.5Z', endsAt: ZERO_TIME })),
  };
  return { firing, grown, partial, resolved, again };
}

describe('incident lifecycle of one Alertmanager group (local stack + fake Slack)', () => {
  let stack: TestStack | undefined;
  let slack: CaptureServer | undefined;
  afterEach(async () => {
    await stack?.destroy();
    await slack?.close();
    stack = undefined;
    slack = undefined;
  });

  /** The stack sets its env on the process: name the policy every time so no test inherits another's. */
  async function start(policy: 'all' | 'any' = 'all') {
    slack = await startCaptureServer();
    stack = await startTestStack({
      env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook`, INCIDENT_PILOT_RESOLVE_POLICY: policy },
    });
    return { local: stack, hook: slack };
  }

  async function post(local: TestStack, payload: Webhook) {
    const res = await local.api('/alerts', { body: payload });
    expect(res.status).toBe(202);
    return res.body;
  }

  /** Polls one incident until `ready` holds. */
  const incidentWhen = (local: TestStack, id: string, ready: (i: Json) => boolean) =>
    waitFor(async () => {
      const { status, body } = await local.api(`/api/incidents/${id}`);
      return status === 200 && ready(body) ? (body as Json) : null;
    });

  const listIncidents = async (local: TestStack): Promise<Json[]> =>
    (await local.api('/api/incidents?view=full')).body.incidents;

  it('firing → grown → partially resolved → resolved → fires again as a new, linked incident', async () => {
    const { local, hook } = await start();
    const { firing, grown, partial, resolved, again } = scenario();

    // Firing: one incident with the 3 alerts, announced once.
    expect((await post(local, firing)).accepted).toHaveLength(3);
    await hook.waitForRequests(1, 15_000);
    const [opened, ...others] = await listIncidents(local);
    expect(others).toEqual([]);
    expect(opened).toMatchObject({
      status: 'open',
      groupKey: firing.groupKey,
      alertCount: 3,
      firingCount: 3,
      resolvedAlertCount: 0,
      previousIncidentId: null,
      resolvedAt: null,
    });
    const id: string = opened.id;
    expect(slackMessages(hook)).toEqual([{ type: 'opened', incidentId: id }]);

    // Grown: the 4th alert joins the same incident; the 3 re-sent ones are duplicates. No new message.
    expect(await post(local, grown)).toMatchObject({ duplicates: 3 });
    const afterGrown = await incidentWhen(local, id, (i) => i.alertCount === 4);
    expect(afterGrown).toMatchObject({ status: 'open', firingCount: 4, resolvedAlertCount: 0 });
    expect(Date.parse(afterGrown.lastSeenAt)).toBeGreaterThan(Date.parse(opened.lastSeenAt));
    expect(afterGrown.openedAt).toBe(opened.openedAt);
    expect(afterGrown.alerts.map((a: Json) => a.labels.instance).sort()).toEqual([
      'instance-1',
      'instance-2',
      'instance-3',
      'instance-4',
    ]);
    await sleep(QUIET_MS);
    expect(hook.requests).toHaveLength(1);

    // Partially resolved: still open, one alert resolved with its real endsAt.
    expect(await post(local, partial)).toMatchObject({ accepted: [expect.stringMatching(/:resolved$/)] });
    const afterPartial = await incidentWhen(local, id, (i) => i.resolvedAlertCount === 1);
    expect(afterPartial).toMatchObject({
      status: 'open',
      alertCount: 4,
      firingCount: 3,
      resolvedAlertCount: 1,
      resolvedAt: null,
    });
    expect(afterPartial.alerts.find((a: Json) => a.labels.instance === 'instance-2')).toMatchObject({
      status: 'resolved',
      endsAt: '2026-11-25T04:01:10.5Z',
    });
    await sleep(QUIET_MS);
    expect(hook.requests).toHaveLength(1);

    // Resolved: the incident closes when the last alert does, and Slack hears it once.
    expect((await post(local, resolved)).accepted).toHaveLength(3);
    await hook.waitForRequests(2, 15_000);
    const closed = await incidentWhen(local, id, (i) => i.status === 'resolved');
    expect(closed).toMatchObject({
      alertCount: 4,
      firingCount: 0,
      resolvedAlertCount: 4,
      resolution: 'all_alerts_resolved',
      resolvedAt: '2026-11-25T04:02:20.25Z',
    });
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: id },
      { type: 'resolved', incidentId: id },
    ]);

    // Fires again (new startsAt): a new incident linked to the old one, which stays resolved.
    expect((await post(local, again)).accepted).toHaveLength(3);
    await hook.waitForRequests(3, 15_000);
    const all = await waitFor(async () => {
      const items = await listIncidents(local);
      return items.length === 2 ? items : null;
    });
    const recurrence = all.find((i) => i.id !== id);
    expect(recurrence).toMatchObject({
      status: 'open',
      groupKey: firing.groupKey,
      previousIncidentId: id,
      alertCount: 3,
      firingCount: 3,
      resolvedAlertCount: 0,
      resolvedAt: null,
    });
    expect(recurrence.alerts.map((a: Json) => a.startsAt)).toEqual(Array(3).fill('2026-11-25T04:30:04.5Z'));
    // Newest first.
    expect(all.map((i) => i.id)).toEqual([recurrence.id, id]);
    // Never reopened, not even touched.
    expect((await local.api(`/api/incidents/${id}`)).body).toEqual(closed);
    await sleep(QUIET_MS);
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: id },
      { type: 'resolved', incidentId: id },
      { type: 'opened', incidentId: recurrence.id },
    ]);
    // The recurrence message says what it recurs after.
    expect(hook.requests[2]?.text()).toContain(id);

    expect((await local.api('/api/stats')).body).toMatchObject({
      alertsReceived: 3 + 1 + 1 + 3 + 3,
      incidentsOpened: 2,
      incidentsResolved: 1,
      notificationsSent: 3,
      notificationsFailed: 0,
    });
  });

  it("records Alertmanager's truncatedAlerts on the incident and resolves only when the group says so", async () => {
    const { local, hook } = await start();
    const truncated = fixture('firing-truncated-max-alerts-2-of-5.json');
    expect(truncated.truncatedAlerts).toBeGreaterThan(0);

    await post(local, truncated);
    await hook.waitForRequests(1, 15_000);
    const [incident] = await listIncidents(local);
    expect(incident).toMatchObject({ status: 'open', alertCount: 2, truncatedAlerts: truncated.truncatedAlerts });
    expect(hook.requests[0]?.text()).toContain('max_alerts');

    // instance-1 resolves while the group (with alerts we never saw) still fires: the incident stays open.
    const oneResolved: Webhook = {
      ...truncated,
      alerts: truncated.alerts.map((a) =>
        instanceOf(a) === 'instance-1' ? { ...a, status: 'resolved', endsAt: '2026-11-25T03:59:26.936Z' } : a,
      ),
    };
    await post(local, oneResolved);
    const stillOpen = await incidentWhen(local, incident.id, (i) => i.resolvedAlertCount === 1);
    expect(stillOpen).toMatchObject({ status: 'open', firingCount: 1, truncatedAlerts: truncated.truncatedAlerts });

    // Alertmanager's resolved notification (top-level `resolved`; instance-1, already reported, left out).
    const final = fixture('resolved-truncated-max-alerts-2-of-5.json');
    await post(local, { ...final, alerts: final.alerts.filter((a) => instanceOf(a) !== 'instance-1') });
    const closed = await incidentWhen(local, incident.id, (i) => i.status === 'resolved');
    expect(closed).toMatchObject({ alertCount: 2, resolvedAlertCount: 2, truncatedAlerts: final.truncatedAlerts });
    await hook.waitForRequests(2, 15_000);
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: incident.id },
      { type: 'resolved', incidentId: incident.id },
    ]);
  });

  it('resolved by hand while its alerts fire: re-sends stay with it, a new firing opens a linked incident', async () => {
    const { local, hook } = await start();
    const { firing, again } = scenario();

    await post(local, firing);
    await hook.waitForRequests(1, 15_000);
    const [incident] = await listIncidents(local);
    expect((await local.api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' })).status).toBe(200);
    await hook.waitForRequests(2, 15_000);

    // Alertmanager re-sends the alerts still firing: they were part of the incident resolved by hand.
    await post(local, firing);
    await sleep(QUIET_MS);
    expect((await listIncidents(local)).map((i: Json) => i.id)).toEqual([incident.id]);

    // They resolve and fire again later: that is a recurrence.
    const startsAt = new Date(Date.now() + 1000).toISOString();
    await post(local, { ...again, alerts: again.alerts.map((a) => ({ ...a, startsAt })) });
    await hook.waitForRequests(3, 15_000);
    const [next] = await listIncidents(local);
    expect(next).toMatchObject({ status: 'open', previousIncidentId: incident.id, alertCount: 3 });
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: incident.id },
      { type: 'resolved', incidentId: incident.id },
      { type: 'opened', incidentId: next.id },
    ]);
  });

  it('resolved by hand while the queue fails: the retried resolve still announces it, once', async () => {
    const { local, hook } = await start();
    await post(local, scenario().firing);
    await hook.waitForRequests(1, 15_000);
    const [incident] = await listIncidents(local);
    await sleep(QUIET_MS);
    // The query function's queue refuses the resolve's job: the incident is stored resolved, the answer a 503.
    const queue = getRoot().queue;
    const enqueue = queue.enqueue;
    queue.enqueue = async () => {
      throw new TransientError('SQS SendMessage: throttled');
    };
    let failed: Awaited<ReturnType<TestStack['api']>>;
    try {
      failed = await local.api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' });
    } finally {
      queue.enqueue = enqueue;
    }

    const retried = await local.api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' });
    const again = await local.api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' });

    expect(failed.status).toBe(503);
    expect(retried).toMatchObject({ status: 200, body: { status: 'resolved', resolution: 'manual' } });
    expect(again.status).toBe(200);
    await hook.waitForRequests(2, 15_000);
    await sleep(QUIET_MS);
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: incident.id },
      { type: 'resolved', incidentId: incident.id },
    ]);
  });

  it('with INCIDENT_PILOT_RESOLVE_POLICY=any, the first resolved alert resolves the incident', async () => {
    const { local, hook } = await start('any');
    const { firing, partial, resolved } = scenario();
    // The 3-alert version of the partial notification: instance-2 resolved, the group still firing.
    const partial3: Webhook = { ...partial, alerts: partial.alerts.filter((a) => instanceOf(a) !== 'instance-4') };
    expect(partial3.alerts.map((a) => a.status)).toEqual(['firing', 'resolved', 'firing']);

    await post(local, firing);
    await hook.waitForRequests(1, 15_000);
    const [incident] = await listIncidents(local);

    await post(local, partial3);
    const closed = await incidentWhen(local, incident.id, (i) => i.status === 'resolved');
    expect(closed).toMatchObject({
      resolution: 'any_alert_resolved',
      resolvedAt: '2026-11-25T04:01:10.5Z',
      alertCount: 3,
      firingCount: 2,
      resolvedAlertCount: 1,
    });
    await hook.waitForRequests(2, 15_000);

    // The rest of the group resolving later changes nothing and says nothing.
    const rest3: Webhook = { ...resolved, alerts: resolved.alerts.filter((a) => instanceOf(a) !== 'instance-4') };
    await post(local, rest3);
    await sleep(QUIET_MS);
    expect(await listIncidents(local)).toEqual([closed]);
    expect(slackMessages(hook)).toEqual([
      { type: 'opened', incidentId: incident.id },
      { type: 'resolved', incidentId: incident.id },
    ]);
  });
});
