import {
  type Incident,
  type IncidentEvent,
  PermanentSinkError,
  type Severity,
  TransientError,
} from '@incident-pilot/core';
import {
  buildPagerDutyEvent,
  createPagerDutySink,
  PAGERDUTY_SEVERITY,
  pagerDutyChangeUrl,
  sendPagerDutyChangeEvents,
} from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PagerDutyStandIn, startPagerDutyStandIn } from '../helpers/pagerduty.js';
import { baseIncident, COMMIT, failureOf, opened, resolved, TRACE } from './incidents.js';

const updated = (incident = baseIncident(), revision = 1): IncidentEvent => ({
  type: 'updated',
  incident: { ...incident, severity: 'critical', lastSeenAt: '2026-11-25T04:10:00.000Z' },
  revision,
  changes: [{ kind: 'alerts_firing', summary: '2 more alerts firing' }],
});

describe('PagerDuty sink', () => {
  let pd: PagerDutyStandIn;
  const sink = (options: Partial<Parameters<typeof createPagerDutySink>[0]> = {}) =>
    createPagerDutySink({ routingKey: pd.routingKey, url: pd.url, backoffMs: 10, ...options });

  beforeEach(async () => {
    pd = await startPagerDutyStandIn();
  });
  afterEach(async () => {
    await pd.close();
  });

  describe('events', () => {
    it('triggers on opened with a dedup key stable for the incident, and resolves it with the same key', async () => {
      const incident = baseIncident();

      await sink().deliver(opened(incident));
      await sink().deliver(resolved(incident));

      expect(pd.events.map((e) => [e.event_action, e.dedup_key])).toEqual([
        ['trigger', incident.id],
        ['resolve', incident.id],
      ]);
      expect(pd.alerts()).toEqual([
        expect.objectContaining({ dedupKey: incident.id, status: 'resolved', triggers: 1 }),
      ]);
    });

    it('folds a material update into the same alert (another trigger, same dedup key)', async () => {
      const incident = baseIncident({ severity: 'high' });

      await sink().deliver(opened(incident));
      await sink().deliver(updated(incident, 1));
      await sink().deliver(updated(incident, 2));

      expect(pd.alerts()).toEqual([
        expect.objectContaining({ dedupKey: incident.id, status: 'triggered', triggers: 3 }),
      ]);
      const last = pd.events.at(-1);
      expect(last.event_action).toBe('trigger');
      expect(last.payload.custom_details).toMatchObject({ revision: 2, changes: ['2 more alerts firing'] });
    });

    it('keeps two incidents apart: different dedup keys, two alerts', async () => {
      await sink().deliver(opened(baseIncident({ id: 'inc-aaaaaaaaaaaa' })));
      await sink().deliver(opened(baseIncident({ id: 'inc-bbbbbbbbbbbb' })));

      expect(pd.alerts().map((a) => a.dedupKey)).toEqual(['inc-aaaaaaaaaaaa', 'inc-bbbbbbbbbbbb']);
    });

    it('describes the incident: summary, severity, source, component, group, class, findings with evidence, links', () => {
      const event = buildPagerDutyEvent(opened(), 'k'.repeat(32), 'https://api.example/prod/');

      expect(event.payload).toMatchObject({
        summary:
          '[CRITICAL] HighErrorRate on checkout (checkout) — Deploy 9f3c2ab71d04 of checkout 4 minutes before the alert',
        source: 'checkout',
        severity: 'critical',
        component: 'checkout',
        group: 'payments',
        class: 'HighErrorRate',
        timestamp: '2026-11-25T03:59:04.097Z',
      });
      const details = event.payload?.custom_details as { findings: { rule: string; evidence: { ref: string }[] }[] };
      expect(details).toMatchObject({ incident_id: 'inc-20261125-checkout-0001', alerts: { firing: 2, resolved: 1 } });
      expect(details.findings.map((f) => f.rule)).toEqual(['deploy.recent_correlated', 'traces.p99_regression']);
      expect(details.findings.map((f) => f.evidence[0]?.ref)).toEqual([COMMIT, TRACE]);
      expect(event.links).toEqual([
        {
          href: 'https://api.example/prod/api/incidents/inc-20261125-checkout-0001',
          text: 'incident-pilot incident inc-20261125-checkout-0001',
        },
      ]);
    });

    it('maps every severity onto PagerDuty’s four', () => {
      const table: [Severity, string][] = [
        ['critical', 'critical'],
        ['high', 'error'],
        ['medium', 'warning'],
        ['low', 'info'],
        ['info', 'info'],
      ];
      for (const [ours, theirs] of table) {
        expect(buildPagerDutyEvent(opened(baseIncident({ severity: ours })), 'k').payload?.severity, ours).toBe(theirs);
        expect(PAGERDUTY_SEVERITY[ours]).toBe(theirs);
      }
    });

    it('keeps the summary within 1,024 characters on one line, and PagerDuty accepts it', async () => {
      const incident: Incident = baseIncident({ title: `Line one\nline two ${'x'.repeat(3000)}` });

      await sink().deliver(opened(incident));

      const summary: string = pd.events[0].payload.summary;
      expect(summary.length).toBeLessThanOrEqual(1024);
      expect(summary).not.toContain('\n');
      expect(summary.endsWith('…')).toBe(true);
    });
  });

  describe('failures', () => {
    it('retries a 429 and a 500 within the call, then delivers once', async () => {
      pd.fail({ status: 429 }, { status: 500 });

      await sink().deliver(opened());

      expect(pd.requests).toHaveLength(3);
      expect(pd.alerts()).toHaveLength(1);
    });

    it('gives up after its attempts with a TransientError carrying Retry-After', async () => {
      pd.failAlways({ status: 503, headers: { 'retry-after': '42' } });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).retryAfterSeconds).toBe(42);
      // A long Retry-After is the queue's job: no second attempt inside the call.
      expect(pd.requests).toHaveLength(1);
    });

    it('stops after three attempts when PagerDuty keeps throttling', async () => {
      pd.failAlways({ status: 429 });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('429');
      expect(pd.requests).toHaveLength(3);
    });

    it('leaves a throttle PagerDuty keeps up to the queue, 30 s later (its 429 carries no Retry-After)', async () => {
      pd.failAlways({ status: 429 });

      const error = await failureOf(sink().deliver(opened()));

      // A Retry-After defers the job instead of spending one of the receives that park it in the DLQ.
      expect((error as TransientError).retryAfterSeconds).toBe(30);
      expect(error.message).toContain('retry after 30s');
    });

    it('fails loudly and permanently on a 400, naming PagerDuty’s explanation and never the key', async () => {
      const error = await failureOf(sink({ routingKey: 'too-short-key' }).deliver(opened()));

      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error).not.toBeInstanceOf(TransientError);
      expect(error.message).toContain('400');
      expect(error.message).toContain("Length of 'routing_key' is incorrect");
      expect(error.message).not.toContain('too-short-key');
      expect(pd.requests).toHaveLength(1);
    });

    it('never quotes the routing key when PagerDuty’s explanation echoes it', async () => {
      pd.fail({
        status: 400,
        body: { status: 'invalid event', message: 'Event object is invalid', errors: [`Unknown key ${pd.routingKey}`] },
      });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error.message).toContain('Unknown key [redacted]');
      expect(error.message).not.toContain(pd.routingKey);
    });

    it('turns a slow answer into a TransientError without retrying it in the call', async () => {
      pd.fail({ delayMs: 1000 });

      const error = await failureOf(sink({ timeoutMs: 100 }).deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('no answer within 100ms');
      expect((error as TransientError).ambiguous).toBe(true);
      expect(pd.requests).toHaveLength(1);
    });

    it('retries a dropped connection, without the URL or key in any message', async () => {
      pd.failAlways({ drop: true });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect(pd.requests).toHaveLength(3);
      expect(`${error.message} ${error.stack}`).not.toContain(pd.routingKey);
      expect(`${error.message} ${error.stack}`).not.toContain(pd.origin);
    });
  });

  it('takes a bare origin as its /v2/enqueue (e.g. the EU service region)', async () => {
    await sink({ url: pd.origin }).deliver(opened());

    expect(pd.requests.map((r) => r.path)).toEqual(['/v2/enqueue']);
    expect(pd.alerts()).toHaveLength(1);
  });

  describe('change events', () => {
    it('derives the Change Events URL from the Events API URL', () => {
      expect(pagerDutyChangeUrl()).toBe('https://events.pagerduty.com/v2/change/enqueue');
      expect(pagerDutyChangeUrl('http://127.0.0.1:9/v2/enqueue')).toBe('http://127.0.0.1:9/v2/change/enqueue');
      expect(pagerDutyChangeUrl('https://events.eu.pagerduty.com')).toBe(
        'https://events.eu.pagerduty.com/v2/change/enqueue',
      );
    });

    it('forwards deploys with service, commit and author', async () => {
      const deploy = { service: 'checkout', commit: COMMIT, author: 'alice', when: '2026-11-25T03:55:00.000Z' };

      const sent = await sendPagerDutyChangeEvents([deploy], { routingKey: pd.routingKey, url: pd.url });

      expect(sent).toBe(1);
      expect(pd.changeEvents).toEqual([
        expect.objectContaining({
          routing_key: pd.routingKey,
          payload: expect.objectContaining({
            summary: `Deploy of checkout: ${COMMIT} by alice`,
            source: 'checkout',
            timestamp: deploy.when,
            custom_details: expect.objectContaining({ commit: COMMIT, author: 'alice' }),
          }),
        }),
      ]);
      expect(pd.events).toEqual([]);
    });
  });
});
