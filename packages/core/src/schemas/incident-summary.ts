import { incidentStatus, severity } from './incident.js';
import * as z from './zod.js';

const integer = z.number().check(z.int());

/**
 * The incident's headline fields as the API's list view and the webhook payload describe them (a
 * schema for documents and receivers; the incident itself is typed by `Incident`). An object, not a
 * `z.lazy`, so that the OpenAPI document and the webhook sink can extend it; in a module of its own
 * so that the functions that never describe incidents (the core has no side effects: see its
 * package.json) do not build it at import.
 */
export const incidentSummarySchema = z.object({
  id: z.string(),
  status: incidentStatus,
  severity,
  service: z.string(),
  alertname: z.string(),
  title: z.string(),
  team: z.string(),
  groupKey: z.string(),
  openedAt: z.string(),
  resolvedAt: z.nullable(z.string()),
  resolution: z.nullable(z.enum(['all_alerts_resolved', 'any_alert_resolved', 'manual'])),
  lastSeenAt: z.string(),
  alertCount: integer,
  firingCount: integer,
  resolvedAlertCount: integer,
  truncatedAlerts: integer,
});
