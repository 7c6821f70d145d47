/**
 * The paging sinks through the whole local stack over HTTP, configured only by environment variables
 * (as `npm start` would be): PagerDuty, Opsgenie and the signed webhook each hear the incident once,
 * and deploys posted to /context/deploys reach PagerDuty as change events without ever failing ingest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';
import { type OpsgenieStandIn, startOpsgenieStandIn } from '../helpers/opsgenie.js';
import { type PagerDutyStandIn, startPagerDutyStandIn } from '../helpers/pagerduty.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

describe('paging sinks on the local stack', () => {
  let stack: TestStack | undefined;
  let pd: PagerDutyStandIn;
  let og: OpsgenieStandIn;
  let hook: WebhookReceiver;
  afterEach(async () => {
    await stack?.destroy();
    await Promise.all([pd?.close(), og?.close(), hook?.close()]);
  });

  async function start(extra: Record<string, string> = {}) {
    [pd, og, hook] = await Promise.all([startPagerDutyStandIn(), startOpsgenieStandIn(), startWebhookReceiver()]);
    stack = await startTestStack({
      env: {
        INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: pd.routingKey,
        INCIDENT_PILOT_PAGERDUTY_URL: pd.url,
        INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: '1',
        INCIDENT_PILOT_OPSGENIE_API_KEY: og.apiKey,
        INCIDENT_PILOT_OPSGENIE_URL: og.url,
        INCIDENT_PILOT_WEBHOOK_URL: hook.url,
        INCIDENT_PILOT_WEBHOOK_SECRET: hook.secret,
        ...extra,
      },
    });
    return stack;
  }

  it('opens and resolves on all three, once each, while PagerDuty fails the first job', async () => {
    const local = await start();
    pd.fail({ status: 500 }, { status: 500 }, { status: 500 });

    await local.api('/alerts', { body: fixture('firing-group-3-alerts.json') });
    await waitFor(async () => pd.alerts().length === 1 && og.alerts().length === 1 && hook.events.length === 1);
    await local.api('/alerts', { body: fixture('resolved-group-3-alerts.json') });
    await waitFor(async () => pd.alerts()[0]?.status === 'resolved' && og.alerts()[0]?.status === 'closed');
    await waitFor(async () => hook.events.length === 2);
    await new Promise((r) => setTimeout(r, 2500)); // a visibility timeout: nothing more may come

    const [incident] = (await local.api('/api/incidents')).body.incidents;
    expect(pd.events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', incident.id],
      ['resolve', incident.id],
    ]);
    expect(pd.requests).toHaveLength(3 + 2);
    expect(og.requests).toHaveLength(2);
    expect(og.alerts()).toEqual([expect.objectContaining({ alias: incident.id, count: 1, status: 'closed' })]);
    expect(hook.requests).toHaveLength(2);
    expect(hook.events.map((e) => [e.type, e.incident.id])).toEqual([
      ['opened', incident.id],
      ['resolved', incident.id],
    ]);
    const stats = (await local.api('/api/stats')).body;
    expect(stats).toMatchObject({ notificationsSent: 6, notificationsFailed: 1 });
  });

  it('announces a material update: PagerDuty folds it, Opsgenie gets a note, the webhook an updated event', async () => {
    const local = await start({
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: '0',
      INCIDENT_PILOT_API_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com',
      INCIDENT_PILOT_PUBLIC_URL: 'https://incidents.example.com',
    });
    const grown = fixture('firing-group-3-alerts.json');
    const first = { ...grown, alerts: grown.alerts.slice(0, 1) };

    await local.api('/alerts', { body: first });
    await waitFor(async () => pd.alerts().length === 1 && og.alerts().length === 1 && hook.events.length === 1);
    await local.api('/alerts', { body: grown });
    await waitFor(async () => hook.events.some((e) => e.type === 'updated'));
    await waitFor(async () => pd.alerts()[0]?.triggers === 2 && og.alerts()[0]?.notes.length === 1);

    const update = hook.events.find((e) => e.type === 'updated');
    expect(update).toMatchObject({ schemaVersion: 1, revision: 1, incident: { firingCount: 3 } });
    expect(update.changes.map((c: { kind: string }) => c.kind)).toContain('alerts_firing');
    expect(pd.alerts()).toEqual([expect.objectContaining({ dedupKey: update.incident.id, triggers: 2 })]);
    expect(pd.events.at(-1).payload.custom_details).toMatchObject({ revision: 1 });
    expect(og.alerts()[0]?.notes[0]).toContain('incident-pilot update #1');
    // The page links to the incident where people reach the API, not at the raw API URL.
    expect(pd.events[0].links).toEqual([
      expect.objectContaining({ href: `https://incidents.example.com/api/incidents/${update.incident.id}` }),
    ]);
  });

  it('forwards posted deploys as PagerDuty change events, and stores them even when PagerDuty fails', async () => {
    const local = await start();
    const deploy = { service: 'checkout', commit: 'a1b2c3d', author: 'alice', when: new Date().toISOString() };

    const ok = await local.api('/context/deploys', { body: deploy });
    pd.failAlways({ status: 503 });
    const failing = await local.api('/context/deploys', { body: { ...deploy, commit: 'e4f5a6b' } });

    expect(ok).toMatchObject({ status: 202, body: { status: 'accepted', stored: 1 } });
    expect(failing).toMatchObject({ status: 202, body: { status: 'accepted', stored: 1 } });
    expect(pd.changeEvents.map((e) => e.payload.custom_details.commit)).toEqual(['a1b2c3d']);
    expect(pd.requests.map((r) => r.path)).toEqual(['/v2/change/enqueue', '/v2/change/enqueue']);
  });

  it('refuses to start with a webhook URL but no signing secret, naming the variable', async () => {
    await expect(start({ INCIDENT_PILOT_WEBHOOK_SECRET: '' })).rejects.toThrow(/INCIDENT_PILOT_WEBHOOK_SECRET/);
    stack = undefined;
  });
});
