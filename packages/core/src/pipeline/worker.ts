import type { EngineConfig } from '../config.js';
import { contextWindowOf } from '../config.js';
import { type Correlation, correlate, referenceAlert } from '../engine/engine.js';
import type { Rule } from '../engine/rule.js';
import { ConflictError, TransientError } from '../errors.js';
import type {
  AlertRecord,
  CorrelationJob,
  GroupState,
  JobQueue,
  Logger,
  NarrationRequest,
  OverflowDelta,
  Sink,
  Store,
} from '../ports.js';
import { type AlertGroup, groupService } from '../schemas/alertmanager.js';
import { MAX_SERVICE_LENGTH } from '../schemas/context.js';
import type { Incident, OpenIncidentRef } from '../schemas/incident.js';
import { heldByMute, inheritedMute, resolvedWhileMuted } from './actions.js';
import { recordChanges, resolvedEntry, withTimeline } from './changes.js';
import {
  applyAlerts,
  belongsTo,
  groupFromRecords,
  groupOfIncident,
  incidentIdOf,
  newIncident,
  type ResolvePolicy,
  splitOverflow,
} from './lifecycle.js';
import { type NotifyDeps, notify, STATS_SINK, statsSink } from './notify.js';
import { defaultPacing, type Pacing, scheduleWake } from './pacing.js';

export interface WorkerDeps {
  store: Store;
  /** For wake-ups: delayed jobs that refresh an incident or send a rate-limited update. */
  queue: JobQueue;
  sinks: readonly Sink[];
  rules: readonly Rule[];
  config: EngineConfig;
  resolvePolicy: ResolvePolicy;
  /** Turns an incident into its report: the templates, optionally rephrased by an LLM. */
  narrate: (incident: Incident, request: NarrationRequest) => Promise<string> | string;
  log: Logger;
  now?: () => number;
  pacing?: Pacing;
  /** A notification claim older than this is taken to be abandoned by a crashed worker. */
  notificationLeaseMs?: number;
  /** Attempts at folding a group before giving the job back to the queue on write conflicts. */
  maxConflictRetries?: number;
  /** Where the job's notification counts go (default: the store). */
  counters?: NotifyDeps['counters'];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An incident as the duplicate rule sees it. */
export const toOpenIncidentRef = (i: Incident): OpenIncidentRef => ({
  id: i.id,
  service: i.service,
  alertname: i.alertname,
  fingerprints: i.alerts.map((a) => a.fingerprint),
  groupKey: i.groupKey,
  status: i.status,
  openedAt: i.openedAt,
});

/** Runs the engine for a group at `nowMs`: the windows run through the moment of correlation. */
async function correlateGroup(deps: WorkerDeps, group: AlertGroup, nowMs: number): Promise<Correlation> {
  const service = groupService(group);
  const ranges = contextWindowOf(deps.config, Date.parse(referenceAlert(group).startsAt), nowMs);
  // No context can be stored under a service name longer than the context API accepts.
  const [context, open] = await Promise.all([
    service.length <= MAX_SERVICE_LENGTH
      ? deps.store.loadContext(service, ranges, nowMs)
      : { deploys: [], logs: [], traces: [] },
    deps.store.listOpenIncidents(),
  ]);
  return correlate({
    group,
    context,
    openIncidents: open.filter((i) => i.groupKey !== group.groupKey),
    config: deps.config,
    rules: deps.rules,
    at: nowMs,
  });
}

async function openIncident(
  deps: WorkerDeps,
  state: GroupState,
  records: AlertRecord[],
  nowMs: number,
  previous: Incident | null,
): Promise<{ incident: Incident; created: boolean }> {
  const group = groupFromRecords(records);
  const id = incidentIdOf(group.groupKey, state.seq + 1);
  // Linked before its context is read (and before it exists), so context posted for its service from
  // now on always finds it and wakes it (an extra link is harmless).
  await deps.store.linkService(groupService(group), state.groupId, id);
  const correlation = await correlateGroup(deps, group, nowMs);
  const openedAt = records.map((r) => r.receivedAt).reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
  const blank: Incident = {
    ...newIncident({
      id,
      group,
      correlation,
      openedAt,
      previousIncidentId: state.lastIncidentId,
    }),
    // A muted group stays muted across a recurrence.
    ...inheritedMute(previous, nowMs),
  };
  // More than an incident lists: the rest are counted as overflow of this first version.
  const delta = await foldOverflow(deps, state.groupId, blank, records, blank.version);
  const { incident } = applyAlerts(blank, records, deps.resolvePolicy, delta);
  if (incident.status === 'resolved') incident.timeline = withTimeline(incident, resolvedEntry(incident));
  incident.narration = await deps.narrate(incident, { event: 'opened' });
  const created = await deps.store.createIncident(incident);
  // A retry of this job (or a concurrent one) created it first: carry on with the stored one.
  const stored = created ? incident : await deps.store.getIncident(incident.id);
  if (!stored) throw new ConflictError(`incident ${incident.id} vanished while being created`);
  // For the rule scoreboard; idempotent, so a retry records the same again.
  await deps.store.recordFired(
    stored.id,
    stored.findings.map((f) => f.ruleId),
    stored.openedAt,
  );
  return { incident: stored, created };
}

/** Records the alerts past the ones `incident` lists for its write at `version`; what that changes in its counts. */
async function foldOverflow(
  deps: WorkerDeps,
  groupId: string,
  incident: Incident,
  records: AlertRecord[],
  version: number,
): Promise<OverflowDelta | undefined> {
  const { overflow } = splitOverflow(incident, records);
  if (overflow.length === 0) return undefined;
  const counted = { alerts: incident.overflowCount ?? 0, resolved: incident.overflowResolvedCount ?? 0 };
  const counts = await deps.store.applyOverflow(groupId, incident.id, overflow, version, counted);
  return { added: counts.alerts - counted.alerts, resolved: counts.resolved - counted.resolved };
}

/** What a write can change, in a form that survives a round trip through the store. */
function writeState(i: Incident): string {
  const alerts = i.alerts.map((a) => `${a.fingerprint}@${a.startsAt}:${a.status}:${a.endsAt}:${a.lastSeenAt}`);
  return JSON.stringify([
    i.status,
    i.lastSeenAt,
    i.truncatedAlerts,
    i.resolvedAt,
    alerts,
    i.overflowCount,
    i.overflowResolvedCount,
    i.severity,
    i.findings,
    i.pendingChanges,
    i.lastUpdate?.revision,
  ]);
}

/**
 * Moves an open incident forward: folds new alert records, re-correlates when a refresh is due,
 * records what changed, and cuts an `updated` announcement when the rate limit allows (else wakes up
 * when it will). Writes the incident (version-checked) only if something changed.
 */
async function advance(
  deps: WorkerDeps,
  incident: Incident,
  records: AlertRecord[],
  groupId: string,
  nowMs: number,
): Promise<Incident> {
  const pacing = deps.pacing ?? defaultPacing;
  const version = incident.version + 1;
  const delta = await foldOverflow(deps, groupId, incident, records, version);
  const applied = applyAlerts(incident, records, deps.resolvePolicy, delta);
  let next: Incident = { ...applied.incident };
  const alertsChanged = writeState(next) !== writeState(incident);

  let refreshed = false;
  if (next.status === 'open' && (alertsChanged || nowMs - Date.parse(incident.openedAt) < pacing.refreshForMs)) {
    // The incident keeps the time of the refreshes it was written with; one that changed nothing is
    // kept apart (see below), so it is read only when the incident's own time says a refresh is due.
    const due = (at: number | null) => at === null || nowMs - at >= pacing.refreshMs;
    let last = incident.refreshedAt ? Date.parse(incident.refreshedAt) : null;
    const kept = due(last) ? await deps.store.lastRefresh(groupId) : null;
    if (kept !== null && (last === null || kept > last)) last = kept;
    if (due(last)) {
      const correlation = await correlateGroup(deps, groupOfIncident(next), nowMs);
      next = { ...next, findings: correlation.findings, severity: correlation.severity, refreshedAt: iso(nowMs) };
      refreshed = true;
    } else {
      await scheduleWake(deps, groupId, (last ?? nowMs) + pacing.refreshMs, nowMs);
    }
  }

  const evolved = recordChanges(incident, next, nowMs, pacing.updateMinMs);
  next = evolved.incident;
  if (evolved.wakeAt !== null) await scheduleWake(deps, groupId, evolved.wakeAt, nowMs);

  if (writeState(next) !== writeState(incident)) {
    next = { ...next, version };
    // Only an announced revision is worth an LLM call; other re-renders stay templated.
    const announced = next.lastUpdate?.revision !== incident.lastUpdate?.revision;
    next.narration = await deps.narrate(
      next,
      applied.resolvedNow ? { event: 'resolved' } : { event: 'updated', material: announced },
    );
    await deps.store.updateIncident(next, incident.version);
  } else {
    next = incident;
  }
  if (refreshed) {
    // Rules that fired for the first time on this incident count on the scoreboard (idempotent).
    const added = next.findings.map((f) => f.ruleId).filter((id) => !incident.findings.some((f) => f.ruleId === id));
    if (added.length > 0) await deps.store.recordFired(incident.id, added, iso(nowMs));
    // Not written with the incident (nothing else changed): kept on the group's wake-up item.
    if (next === incident) await deps.store.markRefreshed(groupId, nowMs);
  }
  return next;
}

/**
 * Folds a group's pending alerts into its open incident (re-correlating it when due), opening one
 * when there is none. Every write is conditional (version or existence), so concurrent workers and
 * retried jobs converge on the same state; a lost race throws ConflictError and the caller tries again.
 * The pending alerts are marked folded last: a job that dies before folds them again, to the same state.
 */
async function foldGroup(deps: WorkerDeps, job: CorrelationJob, nowMs: number): Promise<Incident | null> {
  // Pending first: a job deletes what it folded only after writing the incident and the group state, so
  // whatever is gone from this read, the state read next already shows where it went. Read the other way
  // round, a job could miss both and drop a resolution as belonging to no open incident.
  const pending = await deps.store.pendingAlerts(job.groupId);
  const stored = await deps.store.getGroupState(job.groupId);
  const incident = await foldRecords(deps, job.groupId, stored, pending.records, nowMs);
  if (pending.entries.length > 0) await deps.store.markApplied(pending);
  return incident;
}

async function foldRecords(
  deps: WorkerDeps,
  groupId: string,
  stored: GroupState | null,
  pending: AlertRecord[],
  nowMs: number,
): Promise<Incident | null> {
  const { store } = deps;
  const state: GroupState = stored ?? {
    groupId,
    groupKey: pending[0]?.groupKey ?? '',
    seq: 0,
    openIncidentId: null,
    lastIncidentId: null,
    version: 0,
  };
  const current = state.lastIncidentId ? await store.getIncident(state.lastIncidentId) : null;

  if (current?.status === 'open') {
    const incident = await advance(deps, current, pending, groupId, nowMs);
    if (incident.status === 'resolved') await store.unlinkService(incident.service, groupId, incident.id);
    return incident;
  }
  if (pending.length === 0) {
    if (current) await store.unlinkService(current.service, groupId, current.id);
    return current;
  }
  // Records of alerts the closed incident already holds (a late HA peer, a retry after the fold that
  // resolved it) stay with it; only alerts it never had can open the next incident. Resolutions of
  // alerts whose incident is already closed (or that never fired here) are dropped.
  const fresh = current ? pending.filter((r) => !belongsTo(current, r)) : pending;
  if (!fresh.some((r) => r.status === 'firing')) return current;
  // No open incident: firing alerts open a new one (linked to the last), never reopen the old.
  const opened = await openIncident(deps, state, fresh, nowMs, current);
  // A retry (or a racing worker) found it already created: fold in what arrived since.
  const incident = opened.created ? opened.incident : await advance(deps, opened.incident, fresh, groupId, nowMs);
  if (state.lastIncidentId !== incident.id) {
    await store.putGroupState(
      {
        ...state,
        seq: state.seq + 1,
        openIncidentId: incident.id,
        lastIncidentId: incident.id,
        version: state.version + 1,
      },
      stored ? state.version : null,
    );
  }
  return incident;
}

export interface JobOutcome {
  incidentId: string | null;
  /** The incident's status after the job, and its number of findings (for the job's log line). */
  status?: Incident['status'];
  findings?: number;
}

/**
 * Processes one job for a group: fold its pending alerts into its incident and refresh it (persisted
 * first), then notify the sinks. Throws when the job must be retried: a store fault, repeated write
 * conflicts, or a sink that failed (a TransientError carries the sink's `Retry-After`).
 */
export async function processJob(deps: WorkerDeps, job: CorrelationJob): Promise<JobOutcome> {
  const now = deps.now ?? Date.now;
  const attempts = deps.maxConflictRetries ?? 8;
  let incident: Incident | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      incident = await foldGroup(deps, job, now());
      break;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= attempts) throw error;
      // Another worker won a write race on this group: back off a little and fold again.
      await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
    }
  }
  if (!incident) return { incidentId: null };
  // The incident counters are a sink of their own: counted once per event, behind the same markers.
  // Muted from Slack: only the counters hear of it now (never held: the resolution, nor what the
  // previous incident owes); the other sinks get what is owed when the mute ends, so wake up then.
  const muted = incident.mute && heldByMute(incident, now()) ? incident.mute : undefined;
  if (muted) await scheduleWake(deps, job.groupId, Date.parse(muted.until), now());
  const previousId = incident.previousIncidentId;
  const failures = await notify({ ...deps, sinks: [...deps.sinks, statsSink(deps.store)] }, incident, now(), {
    ...(previousId ? { previous: () => deps.store.getIncident(previousId) } : {}),
    // An opening held through the whole mute is owed to nobody; one that the read of what was sent does
    // not show yet (it lags), or that is on its way or in doubt, is asked again, strongly consistent.
    held: async (sink, event) =>
      sink.name !== STATS_SINK &&
      event.incident.id === incident.id &&
      (muted !== undefined ||
        (event.type === 'opened' &&
          resolvedWhileMuted(incident) &&
          (await deps.store.notificationState({ incidentId: incident.id, event: 'opened', sink: sink.name })) ===
            null)),
  });
  if (failures.length > 0) {
    const retryAfter = Math.max(
      0,
      ...failures.map((f) => (f instanceof TransientError ? (f.retryAfterSeconds ?? 0) : 0)),
    );
    throw new TransientError(
      `${failures.length} notification(s) of ${incident.id} failed: ${failures.map((f) => f.message).join('; ')}`,
      retryAfter || undefined,
    );
  }
  return { incidentId: incident.id, status: incident.status, findings: incident.findings.length };
}
