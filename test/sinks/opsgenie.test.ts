import { type IncidentEvent, PermanentSinkError, type Severity, TransientError } from '@incident-pilot/core';
import { buildOpsgenieAlert, createOpsgenieSink, OPSGENIE_LIMITS } from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpsgenieStandIn, startOpsgenieStandIn } from '../helpers/opsgenie.js';
import { baseIncident, COMMIT, failureOf, hostileIncident, opened, resolved } from './incidents.js';

const updated = (incident = baseIncident(), revision = 1): IncidentEvent => ({
  type: 'updated',
  incident,
  revision,
  changes: [
    { kind: 'finding_added', summary: 'New finding: error spike in checkout logs', ruleId: 'logs.error_spike' },
  ],
});

describe('Opsgenie sink', () => {
  let og: OpsgenieStandIn;
  const sink = (options: Partial<Parameters<typeof createOpsgenieSink>[0]> = {}) =>
    createOpsgenieSink({ apiKey: og.apiKey, url: og.url, backoffMs: 10, ...options });

  beforeEach(async () => {
    og = await startOpsgenieStandIn();
  });
  afterEach(async () => {
    await og.close();
  });

  describe('events', () => {
    it('creates an alert aliased to the incident, notes an update on it and closes it by alias', async () => {
      const incident = baseIncident();

      await sink().deliver(opened(incident));
      await sink().deliver(updated(incident));
      await sink().deliver(resolved(incident));

      expect(og.failedRequests).toEqual([]);
      const [alert] = og.alerts();
      expect(og.alerts()).toHaveLength(1);
      expect(alert).toMatchObject({ alias: incident.id, status: 'closed', count: 1 });
      expect(alert?.notes).toHaveLength(1);
      expect(alert?.notes[0]).toContain('New finding: error spike in checkout logs');
      expect(alert?.closeNote).toContain('resolved (all alerts resolved)');
      expect(og.requests.map((r) => `${r.path}?${r.query}`)).toEqual([
        '/v2/alerts?',
        `/v2/alerts/${incident.id}/notes?identifierType=alias`,
        `/v2/alerts/${incident.id}/close?identifierType=alias`,
      ]);
    });

    it('raises the alert’s priority when the incident’s severity rises, then notes the update', async () => {
      const incident = baseIncident({ severity: 'medium' });
      const escalated: IncidentEvent = {
        type: 'updated',
        incident: { ...incident, severity: 'critical' },
        revision: 1,
        changes: [{ kind: 'severity_up', summary: 'Severity raised from MEDIUM to CRITICAL' }],
      };

      await sink().deliver(opened(incident));
      await sink().deliver(escalated);

      expect(og.failedRequests).toEqual([]);
      expect(og.alerts()).toEqual([expect.objectContaining({ priority: 'P1', count: 1 })]);
      expect(og.alerts()[0]?.notes[0]).toContain('Severity raised from MEDIUM to CRITICAL');
    });

    it('authenticates with the GenieKey scheme', async () => {
      await sink().deliver(opened());

      expect(og.requests[0]?.headers.authorization).toBe(`GenieKey ${og.apiKey}`);
    });

    it('sends priority, message, description, details, tags and the team as responder', () => {
      const alert = buildOpsgenieAlert(baseIncident({ severity: 'high' }), 'https://api.example');

      expect(alert).toMatchObject({
        message: '[high] HighErrorRate on checkout',
        alias: 'inc-20261125-checkout-0001',
        priority: 'P2',
        responders: [{ type: 'team', name: 'payments' }],
        entity: 'checkout',
        source: 'incident-pilot',
      });
      expect(alert.tags).toEqual(['incident-pilot', 'severity:high', 'checkout', 'HighErrorRate', 'payments']);
      expect(alert.details).toMatchObject({
        incident: 'inc-20261125-checkout-0001',
        'likely cause': `Deploy ${COMMIT} of checkout 4 minutes before the alert`,
        link: 'https://api.example/api/incidents/inc-20261125-checkout-0001',
      });
      expect(alert.description).toContain('Try: kubectl rollout undo deployment/checkout --to-revision=41');
      expect(alert.description).toContain(`- deploy ${COMMIT}: alice deployed checkout 4m before the alert`);
    });

    it('maps severities to P1–P5', () => {
      const table: [Severity, string][] = [
        ['critical', 'P1'],
        ['high', 'P2'],
        ['medium', 'P3'],
        ['low', 'P4'],
        ['info', 'P5'],
      ];
      for (const [severity, priority] of table) {
        expect(buildOpsgenieAlert(baseIncident({ severity })).priority, severity).toBe(priority);
      }
    });

    it('keeps every field within Opsgenie’s limits, and Opsgenie accepts it', async () => {
      const alert = buildOpsgenieAlert(hostileIncident());

      await sink().deliver(opened(hostileIncident()));

      expect(og.requests[0]?.json()).toEqual(JSON.parse(JSON.stringify(alert)));
      expect(og.alerts()).toHaveLength(1);
      expect(alert.message.length).toBeLessThanOrEqual(OPSGENIE_LIMITS.message);
      expect(alert.description.length).toBeLessThanOrEqual(OPSGENIE_LIMITS.description);
      const detailChars = Object.entries(alert.details).reduce((n, [k, v]) => n + k.length + v.length, 0);
      expect(detailChars).toBeLessThanOrEqual(OPSGENIE_LIMITS.details);
    });

    it('leaves out the responder when no team is routed', () => {
      expect(buildOpsgenieAlert(baseIncident({ team: '' })).responders).toEqual([]);
      // What routing.team writes when neither a label nor the config names an owner.
      expect(buildOpsgenieAlert(baseIncident({ team: 'unowned' })).responders).toEqual([]);
    });

    it('opens the description with the title once and the alert count in the right number', () => {
      const one = buildOpsgenieAlert(baseIncident({ alertCount: 1, firingCount: 1, resolvedAlertCount: 0 }));

      expect(one.description.split('\n').slice(0, 2)).toEqual([
        'HighErrorRate on checkout',
        'Severity critical · team payments · 1 firing, 0 resolved of 1 alert',
      ]);
    });
  });

  describe('failures', () => {
    it('retries a throttled create within the call, then creates one alert', async () => {
      og.fail({ status: 429 }, { status: 502 });

      await sink().deliver(opened());

      expect(og.requests).toHaveLength(3);
      expect(og.alerts()).toEqual([expect.objectContaining({ count: 1 })]);
    });

    it('turns persistent 5xx into a TransientError', async () => {
      og.failAlways({ status: 503 });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect(og.requests).toHaveLength(3);
    });

    it('leaves a throttle Opsgenie keeps up to the queue, 30 s later (its 429 carries no Retry-After)', async () => {
      og.failAlways({ status: 429 });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).retryAfterSeconds).toBe(30);
      expect(og.requests).toHaveLength(3);
    });

    it('fails permanently on a bad key (401), naming the problem but not the key', async () => {
      const error = await failureOf(sink({ apiKey: 'wrong-key-123' }).deliver(opened()));

      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error.message).toContain('401');
      expect(error.message).toContain('Could not authenticate');
      expect(error.message).toContain('check the API key');
      expect(error.message).not.toContain('wrong-key-123');
    });

    it('never quotes the key when Opsgenie’s explanation echoes it', async () => {
      og.fail({ status: 403, body: { message: `Key ${og.apiKey} may not create alerts`, took: 0.01, requestId: 'r' } });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error.message).toContain('Key [redacted] may not create alerts');
      expect(error.message).not.toContain(og.apiKey);
    });

    it('fails permanently on 422, naming the field Opsgenie refused', async () => {
      og.fail({ status: 422 });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error.message).toContain('message: Message can not be empty.');
    });

    it('deduplicates a re-sent create by alias (an event re-sent after a crash)', async () => {
      await sink().deliver(opened());
      await sink().deliver(opened());

      expect(og.alerts()).toEqual([expect.objectContaining({ count: 2, status: 'open' })]);
    });
  });
});
