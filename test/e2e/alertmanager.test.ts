/**
 * End to end with a real Prometheus Alertmanager 0.25 (Debian package `prometheus-alertmanager`)
 * delivering to the local stack, which notifies a fake Slack. Timings are short (group_wait 1s,
 * group_interval 1–2s) so the whole file runs in well under a minute.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Alertmanager,
  type FaultProxy,
  type PostableAlert,
  startAlertmanager,
  startFaultProxy,
} from '../helpers/alertmanager.js';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const TOKEN = 'e2e-alertmanager-token-0123456789';

/** `count` alerts of one Alertmanager group (same alertname + service), instances 1..count. */
function group(alertname: string, service: string, count: number, startsAt: string): PostableAlert[] {
  return Array.from({ length: count }, (_, i) => ({
    labels: { alertname, service, severity: 'critical', team: 'payments', instance: `instance-${i + 1}` },
    annotations: {
      summary: `${alertname} on ${service} instance-${i + 1}`,
      description: `error ratio above 5% on instance-${i + 1}`,
      runbook_url: `https://runbooks.example.com/${alertname}`,
    },
    startsAt,
    generatorURL: `http://prometheus.example.com/graph?g0.expr=${alertname}`,
  }));
}

/** The same alerts, resolved: same labels and startsAt, `endsAt` one second in the past. */
const resolved = (alerts: PostableAlert[]) =>
  alerts.map((a) => ({ ...a, endsAt: new Date(Date.now() - 1000).toISOString() }));

/** The group key Alertmanager 0.25 builds for the root route grouped by alertname + service. */
const groupKeyOf = (alertname: string, service: string) => `{}:{alertname="${alertname}", service="${service}"}`;

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('a real Alertmanager 0.25 → local stack → Slack', () => {
  let stack: TestStack | undefined;
  let slack: CaptureServer | undefined;
  let am: Alertmanager | undefined;
  /** Everything started by the tests, stopped in afterAll whatever happened. */
  const alertmanagers: Alertmanager[] = [];
  const proxies: FaultProxy[] = [];

  const local = () => {
    if (!stack) throw new Error('the local stack did not start');
    return stack;
  };

  async function launch(options: Parameters<typeof startAlertmanager>[0]): Promise<Alertmanager> {
    const started = await startAlertmanager(options);
    alertmanagers.push(started);
    return started;
  }

  async function proxy(options: Omit<Parameters<typeof startFaultProxy>[0], 'target'>): Promise<FaultProxy> {
    const started = await startFaultProxy({ target: local().url, ...options });
    proxies.push(started);
    return started;
  }

  async function incidentsOf(alertname: string) {
    const res = await local().api('/api/incidents?limit=100', { token: TOKEN });
    if (res.status !== 200) throw new Error(`GET /api/incidents: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body.incidents as { alertname: string; id: string; alertCount: number }[]).filter(
      (i) => i.alertname === alertname,
    );
  }

  async function stats(): Promise<{ alertsReceived: number; duplicatesDropped: number; [k: string]: number }> {
    const res = await local().api('/api/stats', { token: TOKEN });
    if (res.status !== 200) throw new Error(`GET /api/stats: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /**
   * The open incident of `alertname` once it lists all `count` alerts. Alertmanager flushes a group at
   * once when its first alert is older than group_wait, which can be before the rest of the same
   * POST joined the group: they follow at the next group_interval, in a later notification.
   * `other` leaves out an earlier incident of the same group.
   */
  function incidentWith(alertname: string, count: number, other?: string) {
    return eventually(`an incident of ${alertname} with ${count} alert(s)`, async () =>
      (await incidentsOf(alertname)).find((i) => i.alertCount === count && i.id !== other),
    );
  }

  /** Slack messages about one incident, by kind (the fallback `text` names the incident id). */
  function slackAbout(incidentId: string) {
    const texts = (slack?.requests ?? []).map((r) => String((r.json() as { text?: unknown }).text ?? ''));
    const mine = texts.filter((t) => t.includes(`(${incidentId})`));
    return {
      opened: mine.filter((t) => !t.startsWith('Resolved:')).length,
      resolved: mine.filter((t) => t.startsWith('Resolved:')).length,
    };
  }

  /** Waits until the correlation queue holds no job, visible or in flight: the worker is done. */
  async function workerIdle() {
    const { sqsClient } = local().emulators;
    let quietSince = 0;
    await eventually('the correlation queue to drain', async () => {
      const out = await sqsClient.send(
        new GetQueueAttributesCommand({
          QueueUrl: local().queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const empty =
        out.Attributes?.ApproximateNumberOfMessages === '0' &&
        out.Attributes?.ApproximateNumberOfMessagesNotVisible === '0';
      if (!empty) quietSince = 0;
      else quietSince ||= Date.now();
      // Empty twice, 300 ms apart: a job is not just between receive and delete.
      return empty && Date.now() - quietSince >= 300;
    });
  }

  /** `waitFor` with a description of what was awaited in the error. */
  async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000) {
    try {
      return await waitFor(probe, timeoutMs);
    } catch (error) {
      throw new Error(`timed out waiting for ${what}: ${(error as Error).message}`);
    }
  }

  beforeAll(async () => {
    slack = await startCaptureServer();
    stack = await startTestStack({
      env: { INCIDENT_PILOT_TOKEN: TOKEN, INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/services/T000/B000/xyz` },
    });
    // The configuration the README recommends: the token in a file, read by Alertmanager.
    am = await launch({
      webhookUrl: `${stack.url}/alerts`,
      token: TOKEN,
      tokenVia: 'credentials_file',
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '2s',
    });
  });

  afterAll(async () => {
    await Promise.allSettled(alertmanagers.map((a) => a.stop()));
    await Promise.allSettled(proxies.map((p) => p.close()));
    try {
      await stack?.destroy();
    } finally {
      await slack?.close();
    }
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const [i, a] of alertmanagers.entries()) {
        console.error(
          `--- Alertmanager #${i} (${a.url}) config:\n${a.config}\n--- log (tail):\n${a.logs().slice(-6000)}`,
        );
      }
      for (const [i, p] of proxies.entries()) console.error(`--- proxy #${i} posts:`, JSON.stringify(p.posts));
      console.error(
        '--- Slack got:',
        (slack?.requests ?? []).map((r) => r.text().slice(0, 200)),
      );
    });
  });

  const checkout = group('HighErrorRate', 'checkout', 3, ago(30_000));
  let checkoutIncident = '';

  it('turns a group of 3 alerts into one incident and one Slack message', async () => {
    await am?.postAlerts(checkout);

    const incident = await incidentWith('HighErrorRate', 3);
    checkoutIncident = incident.id;
    await eventually('the Slack "opened" message', async () => slackAbout(incident.id).opened > 0);
    await workerIdle();

    expect(await incidentsOf('HighErrorRate')).toHaveLength(1);
    expect(incident).toMatchObject({
      status: 'open',
      service: 'checkout',
      alertCount: 3,
      groupKey: groupKeyOf('HighErrorRate', 'checkout'),
    });
    expect(slackAbout(incident.id)).toEqual({ opened: 1, resolved: 0 });
    expect((await stats()).alertsReceived).toBe(3);
  });

  it('drops the repeats Alertmanager sends after repeat_interval', async () => {
    expect(checkoutIncident).not.toBe('');
    const before = await stats();

    // repeat_interval 2s: the unchanged group comes again, field for field, and is recognised.
    const after = await eventually('a repeated notification of the whole group', async () => {
      const now = await stats();
      return now.duplicatesDropped >= before.duplicatesDropped + 3 ? now : null;
    });
    await workerIdle();

    expect(after.alertsReceived).toBe(before.alertsReceived);
    const incidents = await incidentsOf('HighErrorRate');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ id: checkoutIncident, status: 'open', alertCount: 3 });
    expect(slackAbout(checkoutIncident)).toEqual({ opened: 1, resolved: 0 });
  });

  it('resolves the incident when Alertmanager sends the group resolved, and tells Slack once', async () => {
    expect(checkoutIncident).not.toBe('');
    await am?.postAlerts(resolved(checkout));

    await eventually('the incident to resolve', async () => {
      const [found] = await incidentsOf('HighErrorRate');
      return (found as { status?: string } | undefined)?.status === 'resolved';
    });
    await eventually('the Slack "resolved" message', async () => slackAbout(checkoutIncident).resolved > 0);
    await workerIdle();

    const incidents = await incidentsOf('HighErrorRate');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      id: checkoutIncident,
      status: 'resolved',
      resolution: 'all_alerts_resolved',
      alertCount: 3,
      resolvedAlertCount: 3,
    });
    expect(slackAbout(checkoutIncident)).toEqual({ opened: 1, resolved: 1 });
  });

  it('opens a new incident, linked to the resolved one, when the same alerts fire again', async () => {
    expect(checkoutIncident).not.toBe('');
    await am?.postAlerts(group('HighErrorRate', 'checkout', 3, ago(1000)));

    const recurrence = await incidentWith('HighErrorRate', 3, checkoutIncident);
    await eventually('the Slack "opened" message', async () => slackAbout(recurrence.id).opened > 0);
    await workerIdle();

    expect(recurrence).toMatchObject({
      status: 'open',
      alertCount: 3,
      previousIncidentId: checkoutIncident,
      groupKey: groupKeyOf('HighErrorRate', 'checkout'),
    });
    expect(await incidentsOf('HighErrorRate')).toHaveLength(2);
    const first = await local().api(`/api/incidents/${checkoutIncident}`, { token: TOKEN });
    expect(first.body).toMatchObject({ status: 'resolved', alertCount: 3 });
    expect(slackAbout(recurrence.id)).toEqual({ opened: 1, resolved: 0 });
    expect(slackAbout(checkoutIncident)).toEqual({ opened: 1, resolved: 1 });
  });

  it('counts an HA pair (two Alertmanagers, same alerts) once', async () => {
    const [left, right] = await Promise.all([
      launch({ webhookUrl: `${local().url}/alerts`, token: TOKEN }),
      launch({ webhookUrl: `${local().url}/alerts`, token: TOKEN }),
    ]);
    const alerts = group('ReplicaLag', 'db', 2, ago(15_000));
    const before = await stats();
    await Promise.all([left.postAlerts(alerts), right.postAlerts(alerts)]);

    // Both deliver the same group: two alerts stored once, the other delivery's two are duplicates.
    await eventually('both deliveries', async () => {
      const now = await stats();
      return now.alertsReceived - before.alertsReceived >= 2 && now.duplicatesDropped - before.duplicatesDropped >= 2;
    });
    const incident = await incidentWith('ReplicaLag', 2);
    await eventually('the Slack "opened" message', async () => slackAbout(incident.id).opened > 0);
    await workerIdle();

    expect((await stats()).alertsReceived - before.alertsReceived).toBe(2);
    expect(await incidentsOf('ReplicaLag')).toHaveLength(1);
    expect(incident).toMatchObject({ status: 'open', alertCount: 2 });
    expect(slackAbout(incident.id)).toEqual({ opened: 1, resolved: 0 });
  });

  it('survives a 503: Alertmanager retries and the group still makes one incident, one message', async () => {
    const faulty = await proxy({ failFirstPosts: 1 });
    const retrying = await launch({ webhookUrl: `${faulty.url}/alerts`, token: TOKEN });
    await retrying.postAlerts(group('PaymentsLatency', 'payments', 2, ago(20_000)));

    const key = groupKeyOf('PaymentsLatency', 'payments');
    await eventually('a retried delivery answered 2xx', async () =>
      faulty.posts.some((p) => p.groupKey === key && p.answered === 202),
    );
    const incident = await incidentWith('PaymentsLatency', 2);
    await eventually('the Slack "opened" message', async () => slackAbout(incident.id).opened > 0);
    await workerIdle();

    const posts = faulty.posts.filter((p) => p.groupKey === key);
    expect(posts.length).toBeGreaterThanOrEqual(2);
    expect(posts[0]).toMatchObject({ answered: 503, forwarded: false });
    expect(posts[1]).toMatchObject({ answered: 202, forwarded: true });
    expect(await incidentsOf('PaymentsLatency')).toEqual([expect.objectContaining({ status: 'open', alertCount: 2 })]);
    expect(slackAbout(incident.id)).toEqual({ opened: 1, resolved: 0 });
  });

  it('survives a 503 after the stack took the delivery: the retry is a duplicate', async () => {
    const before = await stats();
    const lossy = await proxy({ failFirstPosts: 1, forwardFailed: true });
    const retrying = await launch({ webhookUrl: `${lossy.url}/alerts`, token: TOKEN });
    await retrying.postAlerts(group('QueueBacklog', 'orders', 2, ago(20_000)));

    const key = groupKeyOf('QueueBacklog', 'orders');
    await eventually('a retried delivery answered 2xx', async () =>
      lossy.posts.some((p) => p.groupKey === key && p.answered === 202),
    );
    const incident = await incidentWith('QueueBacklog', 2);
    await eventually('the Slack "opened" message', async () => slackAbout(incident.id).opened > 0);
    await workerIdle();

    const posts = lossy.posts.filter((p) => p.groupKey === key);
    expect(posts[0]).toMatchObject({ answered: 503, forwarded: true });
    expect(posts[1]).toMatchObject({ answered: 202, forwarded: true });
    const after = await stats();
    expect(after.alertsReceived - before.alertsReceived).toBe(2);
    expect(after.duplicatesDropped - before.duplicatesDropped).toBeGreaterThanOrEqual(2);
    expect(await incidentsOf('QueueBacklog')).toHaveLength(1);
    expect(incident).toMatchObject({ status: 'open', alertCount: 2 });
    expect(slackAbout(incident.id)).toEqual({ opened: 1, resolved: 0 });
  });

  it('accepts basic auth with the token as the password', async () => {
    const basic = await launch({
      webhookUrl: `${local().url}/alerts`,
      basicAuth: { username: 'alertmanager', password: TOKEN, viaFile: true },
    });
    await basic.postAlerts(group('DiskFull', 'storage', 1, ago(10_000)));

    const incident = await eventually(
      'the incident sent with basic auth',
      async () => (await incidentsOf('DiskFull'))[0],
    );
    await eventually('the Slack "opened" message', async () => slackAbout(incident.id).opened > 0);
    await workerIdle();

    expect(incident).toMatchObject({ status: 'open', service: 'storage', alertCount: 1 });
    expect(await incidentsOf('DiskFull')).toHaveLength(1);
    expect(slackAbout(incident.id)).toEqual({ opened: 1, resolved: 0 });
  });

  it('stores nothing from an Alertmanager with the wrong token (401, re-sent and refused again)', async () => {
    await workerIdle();
    const before = await stats();
    const spy = await proxy({});
    const wrong = await launch({ webhookUrl: `${spy.url}/alerts`, token: 'not-the-token', groupInterval: '1s' });
    await wrong.postAlerts(group('CertExpiry', 'edge', 2, ago(10_000)));

    // 4xx is not retried within a flush, but re-sent at every group_interval tick: see two refusals.
    const key = groupKeyOf('CertExpiry', 'edge');
    await eventually('two refused deliveries', async () => spy.posts.filter((p) => p.groupKey === key).length >= 2);
    await wrong.stop();
    await workerIdle();

    expect(spy.posts.filter((p) => p.groupKey === key).map((p) => p.answered)).toEqual(
      expect.arrayContaining([401, 401]),
    );
    expect(spy.posts.filter((p) => p.groupKey === key).every((p) => p.answered === 401)).toBe(true);
    const after = await stats();
    expect(after.alertsReceived).toBe(before.alertsReceived);
    expect(await incidentsOf('CertExpiry')).toHaveLength(0);
  });
});
