/**
 * The signed generic webhook's payload, version 1: what a receiver can rely on. Fields are only ever
 * added within a version; a breaking change bumps `schemaVersion`. Kept in the core so the OpenAPI
 * document can publish it without depending on the sinks.
 */
import * as z from 'zod';
import { findingSchema, incidentStatus, severity } from './incident.js';

export const WEBHOOK_SCHEMA_VERSION = 1;

/** Alerts listed per payload; the rest are counted in `alertsOmitted` (an incident may hold 1,500). */
export const WEBHOOK_MAX_ALERTS = 100;

export const webhookPayloadAlertSchema = z.object({
  fingerprint: z.string(),
  status: z.enum(['firing', 'resolved']),
  startsAt: z.string(),
  endsAt: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
});

export const webhookPayloadIncidentSchema = z.object({
  id: z.string(),
  status: incidentStatus,
  severity,
  service: z.string(),
  alertname: z.string(),
  title: z.string(),
  team: z.string(),
  groupKey: z.string(),
  openedAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolution: z.enum(['all_alerts_resolved', 'any_alert_resolved', 'manual']).nullable(),
  lastSeenAt: z.string(),
  alertCount: z.number().int(),
  firingCount: z.number().int(),
  resolvedAlertCount: z.number().int(),
  alerts: z.array(webhookPayloadAlertSchema).max(WEBHOOK_MAX_ALERTS),
  /** Alerts of the incident not listed in `alerts`. */
  alertsOmitted: z.number().int(),
  /** Ranked, most severe first; each cites its evidence. */
  findings: z.array(findingSchema),
  /** The report as the other sinks show it (templates, optionally rephrased). */
  narration: z.string(),
  previousIncidentId: z.string().nullable(),
});

export const webhookPayloadSchema = z.object({
  schemaVersion: z.literal(WEBHOOK_SCHEMA_VERSION),
  /** Stable per incident event (`<incident>:<type>[:<revision>]`): a receiver deduplicates on it. */
  id: z.string(),
  type: z.enum(['opened', 'updated', 'resolved']),
  /** When this attempt was sent (a retry carries a later time, and the same `id`). */
  sentAt: z.string(),
  /** `updated` only: the revision announced, 1, 2, … */
  revision: z.number().int().positive().optional(),
  /** `updated` only: what changed since the previous notification, most important first. */
  changes: z.array(z.object({ kind: z.string(), summary: z.string(), ruleId: z.string().optional() })).optional(),
  incident: webhookPayloadIncidentSchema,
});

export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
