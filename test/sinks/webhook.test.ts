import { type IncidentEvent, PermanentSinkError, TransientError } from '@incident-pilot/core';
import {
  buildWebhookPayload,
  createWebhookSink,
  signWebhook,
  WEBHOOK_MAX_ALERTS,
  webhookPayloadSchema,
} from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { baseIncident, failureOf, opened } from './incidents.js';

const updated = (revision: number): IncidentEvent => ({
  type: 'updated',
  incident: baseIncident(),
  revision,
  changes: [{ kind: 'severity_up', summary: 'severity high → critical' }],
});
const resolved = (): IncidentEvent => ({
  type: 'resolved',
  incident: baseIncident({ status: 'resolved', resolvedAt: '2026-11-25T05:00:00.000Z', resolution: 'manual' }),
});

describe('signed webhook sink', () => {
  let receiver: WebhookReceiver;
  const sink = (options: Partial<Parameters<typeof createWebhookSink>[0]> = {}) =>
    createWebhookSink({ url: receiver.url, secret: receiver.secret, backoffMs: 10, ...options });

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  describe('signature', () => {
    it('is accepted by a receiver that verifies it, for every event type', async () => {
      for (const event of [opened(), updated(1), resolved()]) await sink().deliver(event);

      expect(receiver.rejected).toBe(0);
      expect(receiver.events.map((e) => [e.type, e.id])).toEqual([
        ['opened', 'inc-20261125-checkout-0001:opened'],
        ['updated', 'inc-20261125-checkout-0001:updated:1'],
        ['resolved', 'inc-20261125-checkout-0001:resolved'],
      ]);
    });

    it('signs "<t>.<raw body>" with HMAC-SHA256 in the documented header format', async () => {
      const now = Date.now();
      const t = Math.floor(now / 1000);

      await sink({ now: () => now }).deliver(opened());

      const [request] = receiver.requests;
      const header = request?.headers['x-incident-pilot-signature'];
      expect(header).toMatch(new RegExp(`^t=${t},v1=[0-9a-f]{64}$`));
      expect(header).toBe(signWebhook(receiver.secret, t, request?.body ?? ''));
      expect(request?.headers['x-incident-pilot-event-id']).toBe('inc-20261125-checkout-0001:opened');
    });

    it('is refused by the receiver when the secret differs, which fails the delivery permanently', async () => {
      const error = await failureOf(sink({ secret: 'not-the-shared-secret-0123456789abcdef' }).deliver(opened()));

      expect(receiver.rejected).toBe(1);
      expect(receiver.events).toEqual([]);
      expect(error).toBeInstanceOf(PermanentSinkError);
      expect(error.message).toContain('401');
      expect(error.message).not.toContain('not-the-shared-secret-0123456789abcdef');
    });

    it('lets a receiver detect a tampered body and a replayed (stale) delivery', async () => {
      await sink().deliver(opened());
      const [request] = receiver.requests;
      const header = String(request?.headers['x-incident-pilot-signature']);
      const body = request?.body ?? '';

      expect(verifySignature(body, header, receiver.secret)).toBe(true);
      expect(verifySignature(body.replace('checkout', 'checkoux'), header, receiver.secret)).toBe(false);
      expect(verifySignature(body, header, receiver.secret, Date.now() / 1000 + 301)).toBe(false);
    });

    it('signs each attempt afresh, so a retry carries a current timestamp', async () => {
      let now = Date.now() - 60_000;
      const clock = () => {
        now += 7000;
        return now;
      };
      receiver.fail({ status: 503 });

      await createWebhookSink({ url: receiver.url, secret: receiver.secret, backoffMs: 1, now: clock }).deliver(
        opened(),
      );

      const stamps = receiver.requests.map((r) => /t=(\d+)/.exec(String(r.headers['x-incident-pilot-signature']))?.[1]);
      expect(stamps).toHaveLength(2);
      expect(Number(stamps[1])).toBeGreaterThan(Number(stamps[0]));
      expect(receiver.requests[1]?.body).toBe(receiver.requests[0]?.body);
    });
  });

  describe('payload', () => {
    it('follows the published schema, version 1, for every event type', () => {
      for (const event of [opened(), updated(3), resolved()]) {
        const payload = buildWebhookPayload(event, '2026-11-25T04:00:00.000Z');
        expect(webhookPayloadSchema.parse(JSON.parse(JSON.stringify(payload)))).toEqual(payload);
        expect(payload.schemaVersion).toBe(1);
      }
    });

    it('carries the revision and what changed on updated only', () => {
      expect(buildWebhookPayload(updated(3), 'x')).toMatchObject({
        revision: 3,
        changes: [{ kind: 'severity_up', summary: 'severity high → critical' }],
      });
      expect(buildWebhookPayload(opened(), 'x')).not.toHaveProperty('changes');
    });

    it('lists at most 100 alerts and counts the rest', () => {
      const alert = baseIncident().alerts[0];
      if (!alert) throw new Error('fixture has an alert');
      const alerts = Array.from({ length: 150 }, (_, i) => ({ ...alert, fingerprint: `fp-${i}` }));
      const payload = buildWebhookPayload(opened(baseIncident({ alerts, alertCount: 400 })), 'x');

      expect(payload.incident.alerts).toHaveLength(WEBHOOK_MAX_ALERTS);
      expect(payload.incident.alertsOmitted).toBe(300);
    });
  });

  describe('failures', () => {
    it('retries a 5xx within the call and delivers once', async () => {
      receiver.fail({ status: 500 }, { status: 429 });

      await sink().deliver(opened());

      expect(receiver.requests).toHaveLength(3);
      expect(receiver.events).toHaveLength(1);
    });

    it('gives up with a TransientError when the receiver stays down', async () => {
      receiver.failAlways({ status: 502 });

      const error = await failureOf(sink().deliver(opened()));

      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).not.toContain(receiver.origin);
    });

    it('never quotes the URL\'s path or query token when the receiver echoes them (Express: "Cannot POST /path")', async () => {
      const path = '/hooks/T0123/B0456/xyzPathToken789';
      const query = 'qsToken-abcdef123456';
      receiver.fail(
        { status: 404, body: `Cannot POST ${path}` },
        { status: 403, body: { error: `token ${query} is not valid` } },
      );
      const url = `${receiver.origin}${path}?token=${query}`;

      const notFound = await failureOf(sink({ url }).deliver(opened()));
      const forbidden = await failureOf(sink({ url }).deliver(opened()));

      expect(notFound).toBeInstanceOf(PermanentSinkError);
      expect(notFound.message).toContain('404');
      expect(notFound.message).not.toContain('xyzPathToken789');
      expect(forbidden.message).toContain('403');
      expect(forbidden.message).not.toContain(query);
    });

    it('refuses an HMAC key shorter than 32 characters (guessable offline from one signed event), without echoing it', () => {
      const short = 'shh-0123456789abcdef0123456789';
      expect(() => createWebhookSink({ url: 'https://hooks.example/ip', secret: short })).toThrow(/at least 32/);
      expect(() => createWebhookSink({ url: 'https://hooks.example/ip', secret: short })).not.toThrow(short);
      expect(() => createWebhookSink({ url: 'https://hooks.example/ip', secret: 'k'.repeat(32) })).not.toThrow();
    });

    it('refuses a URL that is not http(s) without echoing it', () => {
      expect(() => createWebhookSink({ url: 'ftp://token@example', secret: 'x' })).toThrow(/not a valid http\(s\) URL/);
      expect(() => createWebhookSink({ url: 'ftp://token@example', secret: 'x' })).not.toThrow(/token/);
    });
  });
});
