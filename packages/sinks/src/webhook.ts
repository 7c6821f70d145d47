/**
 * The signed generic webhook: each incident event POSTed as JSON (schema version 1,
 * `webhookPayloadSchema` below), signed so the receiver can check who sent it, that it was not
 * altered, and that it is fresh:
 *
 *   X-Incident-Pilot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The same scheme as Stripe's and Slack's: the timestamp is inside the signed string, so a receiver
 * that rejects old timestamps also rejects replays.
 */
import { createHmac } from 'node:crypto';
import {
  findingSchema,
  type IncidentEvent,
  IncidentPilotError,
  incidentSummarySchema,
  type Sink,
} from '@incident-pilot/core';
import * as z from 'zod/mini';
import { postJson, requireHttpUrl, requireSuccess } from './http.js';

// The payload, version 1: what a receiver can rely on. Fields are only ever added within a version;
// a breaking change bumps `schemaVersion`. The OpenAPI document can publish `webhookPayloadSchema`.

export const WEBHOOK_SCHEMA_VERSION = 1;

/** Alerts listed per payload; the rest are counted in `alertsOmitted` (an incident lists at most 50 and counts the others). */
export const WEBHOOK_MAX_ALERTS = 100;

export const webhookPayloadAlertSchema = z.object({
  fingerprint: z.string(),
  status: z.enum(['firing', 'resolved']),
  startsAt: z.string(),
  endsAt: z.nullable(z.string()),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
});

export const webhookPayloadIncidentSchema = z.extend(z.omit(incidentSummarySchema, { truncatedAlerts: true }), {
  alerts: z.array(webhookPayloadAlertSchema).check(z.maxLength(WEBHOOK_MAX_ALERTS)),
  /** Alerts of the incident not listed in `alerts`. */
  alertsOmitted: z.number().check(z.int()),
  /** Ranked, most severe first; each cites its evidence. */
  findings: z.array(findingSchema),
  /** The report as the other sinks show it (templates, optionally rephrased). */
  narration: z.string(),
  previousIncidentId: z.nullable(z.string()),
});

export const webhookPayloadSchema = z.object({
  schemaVersion: z.literal(WEBHOOK_SCHEMA_VERSION),
  /** Stable per incident event (`<incident>:<type>[:<revision>]`): a receiver deduplicates on it. */
  id: z.string(),
  type: z.enum(['opened', 'updated', 'resolved']),
  /** When this attempt was sent (a retry carries a later time, and the same `id`). */
  sentAt: z.string(),
  /** `updated` only: the revision announced, 1, 2, … */
  revision: z.optional(z.number().check(z.int(), z.positive())),
  /** `updated` only: what changed since the previous notification, most important first. */
  changes: z.optional(z.array(z.object({ kind: z.string(), summary: z.string(), ruleId: z.optional(z.string()) }))),
  incident: webhookPayloadIncidentSchema,
});

export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

/**
 * The shortest HMAC key accepted (RFC 2104: not shorter than the hash's 32-byte output). A short key
 * can be guessed offline from one signed event, and then anyone can sign. The stack generates 48.
 */
export const WEBHOOK_MIN_SECRET_LENGTH = 32;

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

/** The parts of the URL a receiver may echo on their own (Express: "Cannot POST /path"): path, query values. */
function urlParts(url: string): string[] {
  const { pathname, searchParams } = new URL(url);
  return [...(pathname.length > 1 ? [pathname] : []), ...searchParams.values()];
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
  requireHttpUrl(name, url);
  if (!secret) throw new IncidentPilotError(`${name} sink: a signing secret is required`);
  if (secret.length < WEBHOOK_MIN_SECRET_LENGTH) {
    throw new IncidentPilotError(
      `${name} sink: the signing secret must be at least ${WEBHOOK_MIN_SECRET_LENGTH} characters (it has ${secret.length})`,
    );
  }
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
        secrets: [url, ...urlParts(url), secret],
      });
      requireSuccess(name, answer);
    },
  };
}
