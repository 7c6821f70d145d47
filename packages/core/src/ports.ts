/**
 * The ports: small interfaces the core declares and the adapters (DynamoDB, SQS, Slack, stdout)
 * implement. Everything here is plain data; no adapter type leaks into the core.
 */
import type { TimeRange } from './config.js';
import type { AlertInstance, AlertStatus } from './schemas/alertmanager.js';
import type { ContextKind, ContextWindow, Deploy, LogLine, Trace } from './schemas/context.js';
import type {
  Actor,
  Incident,
  IncidentChange,
  IncidentStatus,
  IncidentSummary,
  Mute,
  OpenIncidentRef,
  SlackMessageRef,
  TimelineEntry,
} from './schemas/incident.js';
import * as z from './schemas/zod.js';

export type { IncidentChange } from './schemas/incident.js';

/** One stored alert: unique per (groupKey, fingerprint, startsAt, status). */
export interface AlertRecord extends AlertInstance {
  groupKey: string;
  /** A short hash of `groupKey`, safe to use in keys. */
  groupId: string;
  receivedAt: string;
  /** `truncatedAlerts` of the notification that carried it. */
  truncatedAlerts: number;
  /** The notification's top-level status: `resolved` only when every alert of the group is. */
  groupStatus: AlertStatus;
}

export interface RecordedAlert {
  record: AlertRecord;
  /** False when an identical delivery was already stored (a duplicate). */
  created: boolean;
}

/** A group's alert records not yet folded into an incident, as one job reads them. */
export interface PendingAlerts {
  groupId: string;
  records: AlertRecord[];
  /** Opaque to the core: the pending entries `markApplied` clears (those whose records were all read). */
  entries: string[];
}

export interface AlertRepository {
  /** Stores each record unless an identical one exists (never overwrites); new ones become pending. */
  recordAlerts(records: AlertRecord[]): Promise<RecordedAlert[]>;
  /** Whether the group has records not yet folded. */
  hasPending(groupId: string): Promise<boolean>;
  /** The group's records not yet folded: what arrived since the last fold, whatever the group's history. */
  pendingAlerts(groupId: string): Promise<PendingAlerts>;
  /** Marks what `pendingAlerts` returned as folded (into an incident, or dropped as belonging to none). */
  markApplied(pending: PendingAlerts): Promise<void>;
}

export type ContextItem = Deploy | LogLine | Trace;

/** The most items of one kind a correlation reads (the newest ones). */
export const MAX_CONTEXT_ITEMS = 10_000;

export interface ContextRepository {
  /** Stores context items; they expire at `expiresAt` (epoch seconds). */
  putContext(kind: ContextKind, items: ContextItem[], expiresAt: number): Promise<void>;
  /**
   * A service's unexpired context with timestamps in each kind's range (a kind without a range is not
   * read), oldest first; at most MAX_CONTEXT_ITEMS per kind (the newest), so a refresh reads a bounded amount.
   */
  loadContext(service: string, ranges: Partial<Record<ContextKind, TimeRange>>, nowMs: number): Promise<ContextWindow>;
}

/** Per-group bookkeeping: which incident is open, and how many the group has had. */
export interface GroupState {
  groupId: string;
  groupKey: string;
  /** Incidents the group has opened so far. */
  seq: number;
  openIncidentId: string | null;
  lastIncidentId: string | null;
  version: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

/**
 * The attributes written next to the worker's fields (by the Slack app sink and by people's actions):
 * `null` removes one. Every patch bumps `version`, so the worker's version-checked puts never lose it.
 */
export interface IncidentPatch {
  slack?: SlackMessageRef;
  acknowledgedBy?: Actor;
  acknowledgedAt?: string;
  mute?: Mute | null;
  timeline?: TimelineEntry[];
}

export interface IncidentQuery {
  limit: number;
  cursor?: string;
  status?: IncidentStatus;
  service?: string;
  /** `compact` (default): summaries; `full`: whole incidents (an Incident is an IncidentSummary and more). */
  view?: 'compact' | 'full';
  /**
   * The page's items together at most this many bytes as JSON: a page that would be larger ends early
   * (with one item at least) and carries a cursor to the rest.
   */
  maxBytes?: number;
}

export interface IncidentRepository {
  getIncident(id: string): Promise<Incident | null>;
  /**
   * Sets (or, for `null`, removes) the patch's attributes of an existing incident and bumps its version,
   * checking `expectedVersion` when given; returns the incident as written. Throws NotFoundError when
   * there is no such incident, ConflictError when the version differs.
   */
  patchIncident(id: string, patch: IncidentPatch, expectedVersion?: number): Promise<Incident>;
  /** Creates the incident unless one with its id exists; returns false if it existed. */
  createIncident(incident: Incident): Promise<boolean>;
  /** Writes `incident` if the stored version is `expectedVersion`; else throws ConflictError. */
  updateIncident(incident: Incident, expectedVersion: number): Promise<void>;
  /** Newest first, through an index (never a scan), optionally only one status and/or service. */
  listIncidents(query: IncidentQuery): Promise<Page<IncidentSummary>>;
  /** The incidents with these ids, in that order (missing ones left out). */
  getIncidents(ids: string[]): Promise<Incident[]>;
  /** Every open incident as the duplicate rule sees it, newest first, from a sparse index. */
  listOpenIncidents(): Promise<OpenIncidentRef[]>;
  getGroupState(groupId: string): Promise<GroupState | null>;
  /** Writes the state if the stored version is `expectedVersion` (null: must not exist); else ConflictError. */
  putGroupState(state: GroupState, expectedVersion: number | null): Promise<void>;
}

/** The key of one notification: an incident event delivered to one sink. */
export interface NotificationKey {
  incidentId: string;
  event: IncidentEventType;
  sink: string;
  /** For `updated`: the revision announced (each revision is its own notification). */
  revision?: number;
}

export type ClaimResult = 'claimed' | 'already_sent' | 'in_flight';

/** Idempotency markers so each incident event reaches each sink at most once. */
export interface NotificationLedger {
  /**
   * The notifications of an incident already sent: `opened`, `resolved` and those of update
   * `updateRevision` (older updates are never sent again). May lag a moment behind: only to skip claims
   * that would fail; the claim decides.
   */
  sentNotifications(incidentId: string, updateRevision?: number): Promise<NotificationKey[]>;
  /** Where one notification stands, read strongly consistent: sent, claimed (on its way) or never tried. */
  notificationState(key: NotificationKey): Promise<'sent' | 'claimed' | null>;
  /** Claims the right to send; a claim older than `leaseMs` is considered abandoned. */
  claimNotification(key: NotificationKey, nowMs: number, leaseMs: number): Promise<ClaimResult>;
  completeNotification(key: NotificationKey, nowMs: number): Promise<void>;
  /**
   * Gives up the claim made at `claimedAtMs`, unless it was sent or another worker has since taken it
   * over (after the lease ran out): releasing that newer claim would let a third worker send it again.
   */
  releaseNotification(key: NotificationKey, claimedAtMs: number): Promise<void>;
}

export const STAT_NAMES = [
  'alertsReceived',
  'duplicatesDropped',
  'incidentsOpened',
  'incidentsResolved',
  'jobsFailed',
  'notificationsSent',
  'notificationsFailed',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type Stats = Record<StatName, number>;

export interface StatsRepository {
  addStats(delta: Partial<Stats>): Promise<void>;
  getStats(): Promise<Stats>;
}

/** What folding overflow alerts (past the ones an incident lists) changed in its counts. */
export interface OverflowDelta {
  /** Alerts seen for the first time. */
  added: number;
  /** Alerts that went from firing to resolved. */
  resolved: number;
}

export type Vote = 'up' | 'down';

/** One rule's line on the scoreboard: how often it fired and what people thought of it. */
export interface RuleScore {
  ruleId: string;
  /** Incidents it had a finding on. */
  fired: number;
  up: number;
  down: number;
  /** ISO time of the latest incident it fired on; null if never. */
  lastFiredAt: string | null;
}

/** What rules did and how useful people found it: the data to tune thresholds with. */
export interface RuleFeedback {
  /** Records that the rules had findings on an incident; idempotent per (incident, rule). */
  recordFired(incidentId: string, ruleIds: readonly string[], at: string): Promise<void>;
  /** One vote per (incident, rule, user); voting again replaces it, unless the stored vote is newer (`at`). */
  vote(input: { incidentId: string; ruleId: string; userId: string; vote: Vote; at: string }): Promise<void>;
  /** Scores of the given rules, in the same order. */
  ruleScores(ruleIds: readonly string[]): Promise<RuleScore[]>;
}

/** An incident's overflow alerts: how many it has, and how many of them resolved. */
export interface OverflowCounts {
  alerts: number;
  resolved: number;
}

/** Alerts of an incident beyond the ones it lists: one small item each, so counts stay exact at any size. */
export interface OverflowRepository {
  /**
   * Records `records` as overflow alerts of the incident for its write at `version`, and returns its
   * counts after them: `counted` (those of the version it builds on) plus what they add, idempotent per
   * version (what an attempt counted for a version that was never written is counted again by the
   * retry). When one of them was counted by an attempt at another version, which may have lost its
   * write to another worker's, the counts are read back from all of the incident's overflow items
   * instead (strongly consistent): only a retry, a lost race or a late record pays for that read.
   */
  applyOverflow(
    groupId: string,
    incidentId: string,
    records: AlertRecord[],
    version: number,
    counted: OverflowCounts,
  ): Promise<OverflowCounts>;
}

/**
 * Pacing of re-correlation. A group's wake-up is one delayed job; these markers keep a flood of
 * triggers (re-sends, context batches) down to a few jobs per refresh interval.
 */
export interface RefreshRepository {
  /** Claims a wake-up at `atMs`, unless one is already pending within [nowMs, horizonMs]. */
  claimWake(groupId: string, atMs: number, nowMs: number, horizonMs: number): Promise<boolean>;
  /** Gives up a claim at `atMs` whose job never made it onto the queue (a newer claim is kept). */
  releaseWake(groupId: string, atMs: number): Promise<void>;
  /** When the group's incident was last re-correlated (ms), or null. */
  lastRefresh(groupId: string): Promise<number | null>;
  markRefreshed(groupId: string, atMs: number): Promise<void>;
  /** Remembers that `groupId` has an open incident, `incidentId`, about `service` (for context-triggered refreshes). */
  linkService(service: string, groupId: string, incidentId: string): Promise<void>;
  /** Forgets the link, unless it is another incident's by now (the group's next one, opened meanwhile). */
  unlinkService(service: string, groupId: string, incidentId: string): Promise<void>;
  /** Groups with an open incident about `service`. */
  groupsOfService(service: string): Promise<string[]>;
}

export type Store = AlertRepository &
  ContextRepository &
  IncidentRepository &
  NotificationLedger &
  StatsRepository &
  OverflowRepository &
  RefreshRepository &
  RuleFeedback;

/**
 * The body of a correlation job on the queue: ids only, never user text (some SQS implementations
 * refuse characters real SQS accepts; the group key and everything else are read from the store).
 */
export const correlationJobSchema = z.lazy(() =>
  z.object({
    groupId: z.string().check(z.regex(/^[0-9a-f]{1,64}$/)),
    enqueuedAt: z.string().check(z.minLength(1)),
    /** How many times the worker queued this job again because a sink said when to come back. */
    deferrals: z.optional(z.number().check(z.int(), z.gte(0))),
  }),
);
export type CorrelationJob = z.infer<typeof correlationJobSchema>;

/** SQS's longest message delay; a later wake-up is reached by re-scheduling. */
export const MAX_JOB_DELAY_SECONDS = 900;

export interface JobQueue {
  /** Queues a job, visible after `delaySeconds` (at most MAX_JOB_DELAY_SECONDS). */
  enqueue(job: CorrelationJob, delaySeconds?: number): Promise<void>;
}

/** Structured logging, as the functions configure it. Never pass secrets. */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export type IncidentEventType = 'opened' | 'updated' | 'resolved';

/**
 * What a sink is asked to deliver. `opened` and `resolved` happen once per incident; `updated` once
 * per announced revision (several material changes in between are merged into one `changes` list).
 */
export interface IncidentEvent {
  type: IncidentEventType;
  incident: Incident;
  /** `updated` only: the incident revision announced (1, 2, …); part of the idempotency marker. */
  revision?: number;
  /** `updated` only: what changed since the previous notification, most important first. */
  changes?: IncidentChange[];
}

/**
 * What a narration is for, so that the narrator can decide whether it is worth an LLM call: only the
 * report of an `opened` or a material `updated` event is; a re-render that announces nothing
 * (`material: false`) and a `resolved` one stay templated.
 */
export interface NarrationRequest {
  event: IncidentEventType;
  /** For `updated`: whether the change is announced. Default true (an announced update is material). */
  material?: boolean;
}

/**
 * Where incidents are announced. `deliver` throws on failure; a TransientError (with
 * `retryAfterSeconds` when the sink said so) means "try again later".
 */
export interface Sink {
  /** Stable name: part of the idempotency marker. */
  name: string;
  /** The events it takes (default: every event); others are neither claimed nor delivered. */
  events?: readonly IncidentEventType[];
  deliver(event: IncidentEvent): Promise<void>;
}

/** What the dead man's switch remembers (one item). Times are ISO. */
export interface HeartbeatState {
  /** When the last heartbeat alert arrived; null before the first. */
  lastAt: string | null;
  /**
   * When the check started waiting: its first run, or a restart of the local stack (the gap while
   * nothing ran is no sign of Alertmanager's). The wait runs from the later of this and `lastAt`.
   */
  armedAt: string | null;
  /** `startsAt` of the open "heartbeat missing" alert; null while heartbeats arrive. */
  missingSince: string | null;
}

/** The heartbeat (Alertmanager's always-firing Watchdog) and the state of the check that watches it. */
export interface HeartbeatRepository {
  /** Records a heartbeat received at `at` (a later one never goes back in time). */
  recordHeartbeat(at: string): Promise<void>;
  getHeartbeat(): Promise<HeartbeatState>;
  /** Sets the check's own fields. */
  updateHeartbeat(patch: Partial<Pick<HeartbeatState, 'armedAt' | 'missingSince'>>): Promise<void>;
}
