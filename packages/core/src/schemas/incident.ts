import { timestamp } from './time.js';
import * as z from './zod.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const severity = z.lazy(() => z.enum(SEVERITIES));
export type Severity = z.infer<typeof severity>;

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export const confidence = z.lazy(() => z.enum(CONFIDENCES));
export type Confidence = z.infer<typeof confidence>;

/** Higher is worse; used to rank findings and to take the maximum. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(...values: Severity[]): Severity {
  return values.reduce<Severity>((a, b) => (severityRank(b) > severityRank(a) ? b : a), 'info');
}

const nonEmpty = z.lazy(() => z.string().check(z.minLength(1)));

/** A pointer back to the data behind a finding. */
export const evidenceSchema = z.lazy(() =>
  z.object({
    /** What kind of data: deploy, log, trace, incident, alert, config. */
    kind: z.enum(['deploy', 'log', 'trace', 'incident', 'alert', 'config', 'rule']),
    /** The identifier of that data: a commit, a trace id, an incident id, a fingerprint, a label. */
    ref: nonEmpty,
    /** One human-readable line. */
    detail: nonEmpty,
    at: z.optional(timestamp),
  }),
);
export type Evidence = z.infer<typeof evidenceSchema>;

/** What a rule concluded. The engine rejects any finding without evidence. */
export const findingSchema = z.lazy(() =>
  z.object({
    ruleId: nonEmpty,
    severity,
    confidence,
    summary: nonEmpty,
    /** A concrete next command or step. */
    suggestion: nonEmpty,
    evidence: z.array(evidenceSchema).check(z.minLength(1, 'a finding must cite at least one piece of evidence')),
  }),
);
export type Finding = z.infer<typeof findingSchema>;

/** An open incident as the rules see it (for duplicate detection). */
export const openIncidentRefSchema = z.lazy(() =>
  z.object({
    id: nonEmpty,
    service: nonEmpty,
    alertname: nonEmpty,
    fingerprint: z.optional(z.string()),
    fingerprints: z._default(z.array(z.string()), []),
    groupKey: z.optional(z.string()),
    status: z._default(z.enum(['open', 'resolved']), 'open'),
    openedAt: timestamp,
  }),
);
export type OpenIncidentRef = z.infer<typeof openIncidentRefSchema>;

export const incidentStatus = z.lazy(() => z.enum(['open', 'resolved']));
export type IncidentStatus = z.infer<typeof incidentStatus>;

/** One alert instance (fingerprint + startsAt) attached to an incident. */
export interface IncidentAlert {
  fingerprint: string;
  startsAt: string;
  endsAt: string | null;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  summary: string;
  lastSeenAt: string;
}

/** The incident as stored, served by the API and narrated. */
export interface Incident {
  id: string;
  status: IncidentStatus;
  severity: Severity;
  service: string;
  alertname: string;
  title: string;
  team: string;
  groupKey: string;
  openedAt: string;
  resolvedAt: string | null;
  /** How it was resolved: every alert resolved, any alert resolved, or by hand through the API. */
  resolution: 'all_alerts_resolved' | 'any_alert_resolved' | 'manual' | null;
  lastSeenAt: string;
  alertCount: number;
  firingCount: number;
  resolvedAlertCount: number;
  /** Alerts Alertmanager left out of its notifications (`max_alerts`), at the latest notification. */
  truncatedAlerts: number;
  alerts: IncidentAlert[];
  /**
   * Alerts beyond the ones listed in `alerts` (MAX_TRACKED_ALERTS), and how many of them resolved; they
   * count in `alertCount`, and such an incident resolves with its group.
   */
  overflowCount?: number;
  overflowResolvedCount?: number;
  findings: Finding[];
  narration: string;
  /** The incident of the same group that this one recurs after, if any. */
  previousIncidentId: string | null;
  /** Labels every alert of the group shares: what a re-correlation rebuilds the group from. */
  commonLabels?: Record<string, string>;
  /** When its findings were last worked out again (a refresh), if that changed the incident. */
  refreshedAt?: string;
  /** Material changes since `announced`, not announced yet: what the next `updated` event will say. */
  pendingChanges?: IncidentChange[];
  /** The latest announced update: its revision (1, 2, …), when it was cut, and what changed. */
  lastUpdate?: { revision: number; at: string; changes: IncidentChange[] };
  /**
   * What the opening or the last update told people of the severity and findings: the next update is
   * measured from it. Absent on incidents stored before it was recorded.
   */
  announced?: Announced;
  /** What happened to the incident, oldest first, bounded (see MAX_TIMELINE_ENTRIES). */
  timeline?: TimelineEntry[];
  /** Slack app mode: the incident's one message (set right after `chat.postMessage`). */
  slack?: SlackMessageRef;
  /** Who acknowledged it (a Slack user), and when. */
  acknowledgedBy?: Actor;
  acknowledgedAt?: string;
  /** Notifications for the incident are held until `until` (see `isMuted`). */
  mute?: Mute;
  /** Who resolved it by hand, with their note (manual resolutions only). */
  resolvedBy?: Actor;
  resolutionNote?: string;
  /** Optimistic-concurrency version, bumped on every write. */
  version: number;
}

/**
 * The incident's severity and each finding's (keyed by its identity, `<ruleId>|<first evidence ref>`)
 * as last announced. Only severities: an update announces nothing else of a finding.
 */
export interface Announced {
  severity: Severity;
  findings: Record<string, Severity>;
}

/** One entry of "what changed since the last update". */
export interface IncidentChange {
  kind:
    | 'finding_added'
    | 'finding_removed'
    | 'finding_escalated'
    | 'finding_changed'
    | 'severity_up'
    | 'severity_down'
    | 'alerts_firing'
    | 'alerts_resolved';
  /** One plain-text line (untrusted parts unescaped: each sink escapes for its medium). */
  summary: string;
  /** The finding's rule, for finding changes. */
  ruleId?: string;
  /** The finding's severity after the change, for finding changes; the incident's, for `severity_up`. */
  severity?: Severity;
  /** The severity before the change, for `finding_escalated` and `severity_up`. */
  from?: Severity;
  /** For `alerts_firing`: how many alerts fired since the last update. */
  count?: number;
}

/** Where the incident's Slack message is: a channel id and the message timestamp. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** A person who acted on an incident: their Slack user id and display name. */
export interface Actor {
  id: string;
  name: string;
}

export interface Mute {
  /** ISO time the mute ends. */
  until: string;
  by: Actor;
}

/** The heavy (or internal) fields a list leaves out unless asked for the full view (`?view=full`). */
export const FULL_VIEW_FIELDS = [
  'alerts',
  'narration',
  'timeline',
  'pendingChanges',
  'commonLabels',
  'announced',
] as const;

/** An incident as a list shows it: everything but {@link FULL_VIEW_FIELDS}. */
export type IncidentSummary = Omit<Incident, (typeof FULL_VIEW_FIELDS)[number]>;

/** Timeline entries kept per incident; the oldest after the first ("opened") are dropped first. */
export const MAX_TIMELINE_ENTRIES = 50;

/** One entry of an incident's timeline. */
export interface TimelineEntry {
  at: string;
  type: 'opened' | 'updated' | 'resolved' | 'acknowledged' | 'muted' | 'unmuted' | 'note';
  /** One plain-text line. */
  summary: string;
  /** For `updated`: what changed (plain text lines). */
  changes?: string[];
  /** Who did it, for actions taken by people (e.g. a Slack user). */
  by?: string;
}
