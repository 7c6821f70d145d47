import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { redriveDlq } from '@incident-pilot/aws';
import { afterEach, describe, expect, it } from 'vitest';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

/** Incident ids named in what the fake Slack received, with how often each was answered 2xx or not. */
function deliveries(slack: CaptureServer, statuses: number[]) {
  return slack.requests.map((r, i) => ({
    incidentId: /inc-[0-9a-f]{12}/.exec(r.text())?.[0],
    ok: (statuses[i] ?? 200) < 300,
  }));
}

describe('worker delivery guarantees (local stack + fake Slack)', () => {
  let stack: TestStack | undefined;
  let slack: CaptureServer | undefined;
  afterEach(async () => {
    await stack?.destroy();
    await slack?.close();
  });

  it('retries only the record that failed; the others in the batch are done once', async () => {
    slack = await startCaptureServer();
    slack.respondWith({ status: 500, body: 'boom' });
    const local = await startTestStack({ env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook` } });
    stack = local;
    for (const name of [
      'firing-single-alert.json',
      'firing-group-3-alerts.json',
      'firing-group-grown-1-to-2-alerts.json',
    ]) {
      await stack.api('/alerts', { body: fixture(name) });
    }

    await slack.waitForRequests(4, 20_000);
    const seen = deliveries(slack, [500]);
    const failed = seen[0]?.incidentId;
    const perIncident = new Map<string, number>();
    for (const d of seen) if (d.incidentId) perIncident.set(d.incidentId, (perIncident.get(d.incidentId) ?? 0) + 1);

    expect(perIncident.size).toBe(3);
    expect(perIncident.get(failed ?? '')).toBe(2);
    expect([...perIncident.values()].sort()).toEqual([1, 1, 2]);
    const stats = await waitFor(async () => {
      const body = (await local.api('/api/stats')).body;
      return body.notificationsSent === 3 ? body : null;
    });
    expect(stats).toMatchObject({ notificationsSent: 3, notificationsFailed: 1, incidentsOpened: 3 });
  });

  it('honours Slack 429 Retry-After and delivers once afterwards', async () => {
    slack = await startCaptureServer();
    slack.respondWith({ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' });
    stack = await startTestStack({
      visibilityTimeoutSeconds: 30,
      env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook` },
    });
    await stack.api('/alerts', { body: fixture('firing-single-alert.json') });

    // With a 30 s visibility timeout, only Retry-After can bring the job back this soon.
    const [first, second] = await slack.waitForRequests(2, 15_000);
    expect(second?.text()).toBe(first?.text());
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.requests).toHaveLength(2);
  });

  it('parks a job whose sink keeps failing in the DLQ after 5 receives, keeps the incident, and re-drives it', async () => {
    slack = await startCaptureServer({ defaultResponse: { status: 503, body: 'down' } });
    const local = await startTestStack({
      visibilityTimeoutSeconds: 1,
      env: { INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook`, INCIDENT_PILOT_RETRY_BASE_SECONDS: '0.1' },
    });
    stack = local;
    await stack.api('/alerts', { body: fixture('firing-single-alert.json') });

    await slack.waitForRequests(5, 30_000);
    const { sqsClient } = stack.emulators;
    const incidents = (await stack.api('/api/incidents')).body.incidents;
    // Persist before notify: the incident is there although Slack never took it.
    expect(incidents).toHaveLength(1);
    await waitFor(async () => {
      const out = await sqsClient.send(
        new GetQueueAttributesCommand({ QueueUrl: local.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return out.Attributes?.ApproximateNumberOfMessages === '1';
    }, 20_000);
    const attempts = slack.requests.length;
    expect(attempts).toBe(5);

    // Slack is back; an operator re-drives the DLQ.
    slack.respondWith({ status: 200, body: 'ok' });
    const moved = await redriveDlq({ client: sqsClient, sourceQueueUrl: stack.dlqUrl, targetQueueUrl: stack.queueUrl });
    expect(moved).toBe(1);

    await slack.waitForRequests(attempts + 1, 15_000);
    await new Promise((r) => setTimeout(r, 2500));
    expect(slack.requests).toHaveLength(attempts + 1);
    const stats = await waitFor(async () => {
      const body = (await local.api('/api/stats')).body;
      return body.notificationsSent === 1 ? body : null;
    });
    expect(stats).toMatchObject({ notificationsSent: 1, notificationsFailed: 5 });
  });
});
