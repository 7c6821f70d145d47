/**
 * The signed generic webhook: each incident event POSTed as JSON (schema version 1, see
 * `webhookPayloadSchema` in the core), signed so the receiver can check who sent it, that it was not
 * altered, and that it is fresh:
 *
 *   X-Incident-Pilot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The same scheme as Stripe's and Slack's: the timestamp is inside the signed string, so a receiver
 * that rejects old timestamps also rejects replays.
 */
import { createHmac } from 'node:crypto';
import {
  type IncidentEvent,
  IncidentPilotError,
  type Sink,
  WEBHOOK_MAX_ALERTS,
  WEBHOOK_SCHEMA_VERSION,
  type WebhookPayload,
} from '@incident-pilot/core';
import { postJson, requireSuccess } from './http.js';

export const WEBHOOK_SIGNATURE_HEADER = 'x-incident-pilot-signature';
/** The event id (the payload's `id`), so a receiver can deduplicate before parsing. */
export const WEBHOOK_EVENT_ID_HEADER = 'x-incident-pilot-event-id';

export interface WebhookSinkOptions {
  /** Where to POST. Treated as a secret in messages (it may carry a token). */
  url: string;
  /** The HMAC key shared with the receiver. */
  secret: string;
  fetch?: typeof globalThis.fetch;
  name?: string;
  timeoutMs?: number;
  /** Attempts within one delivery for 429/5xx/connection errors. */
  attempts?: number;
  backoffMs?: number;
  now?: () => number;
}

/** `t=<seconds>,v1=<hex>` for `body` signed at `unixSeconds`. */
export function signWebhook(secret: string, unixSeconds: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

/** The event id a receiver deduplicates on: one per incident event (and revision). */
export function webhookEventId(event: IncidentEvent): string {
  const base = `${event.incident.id}:${event.type}`;
  return event.type === 'updated' && event.revision !== undefined ? `${base}:${event.revision}` : base;
}

/** The payload for an event; pure, exported for documentation and tests. */
export function buildWebhookPayload(event: IncidentEvent, sentAt: string): WebhookPayload {
  const { incident } = event;
  const alerts = incident.alerts.slice(0, WEBHOOK_MAX_ALERTS);
  return {
    schemaVersion: WEBHOOK_SCHEMA_VERSION,
    id: webhookEventId(event),
    type: event.type,
    sentAt,
    ...(event.type === 'updated' && event.revision !== undefined ? { revision: event.revision } : {}),
    ...(event.type === 'updated' && event.changes ? { changes: event.changes } : {}),
    incident: {
      id: incident.id,
      status: incident.status,
      severity: incident.severity,
      service: incident.service,
      alertname: incident.alertname,
      title: incident.title,
      team: incident.team,
      groupKey: incident.groupKey,
      openedAt: incident.openedAt,
      resolvedAt: incident.resolvedAt,
      resolution: incident.resolution,
      lastSeenAt: incident.lastSeenAt,
      alertCount: incident.alertCount,
      firingCount: incident.firingCount,
      resolvedAlertCount: incident.resolvedAlertCount,
      alerts: alerts.map(({ fingerprint, status, startsAt, endsAt, labels, summary }) => ({
        fingerprint,
        status,
        startsAt,
        endsAt,
        labels,
        summary,
      })),
      alertsOmitted: Math.max(0, incident.alertCount - alerts.length),
      findings: incident.findings,
      narration: incident.narration,
      previousIncidentId: incident.previousIncidentId,
    },
  };
}

/**
 * A `Sink` POSTing signed events. 2xx: delivered. 429, 408, 5xx and dropped connections: retried
 * in-call, then TransientError (with `Retry-After`). Any other status (a receiver that rejects the
 * signature answers 401): PermanentSinkError.
 */
export function createWebhookSink({
  url,
  secret,
  fetch = globalThis.fetch,
  name = 'webhook',
  timeoutMs = 5000,
  attempts = 3,
  backoffMs = 250,
  now = Date.now,
}: WebhookSinkOptions): Sink {
  if (!/^https?:\/\//.test(url) || !URL.canParse(url)) {
    throw new IncidentPilotError(`${name} sink: the webhook URL is not a valid http(s) URL`);
  }
  if (!secret) throw new IncidentPilotError(`${name} sink: a signing secret is required`);
  return {
    name,
    async deliver(event) {
      const id = webhookEventId(event);
      const body = JSON.stringify(buildWebhookPayload(event, new Date(now()).toISOString()));
      const answer = await postJson({
        sink: name,
        url,
        // Signed per attempt: a retry carries a fresh timestamp, so receivers may keep a tight window.
        headers: () => ({
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, Math.floor(now() / 1000), body),
          [WEBHOOK_EVENT_ID_HEADER]: id,
          'user-agent': 'incident-pilot-webhook/1',
        }),
        body,
        fetch,
        timeoutMs,
        attempts,
        backoffMs,
        secrets: [url, secret],
      });
      requireSuccess(name, answer);
    },
  };
}
