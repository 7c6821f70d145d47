import type { EngineConfig } from '../config.js';
import { contextWindowOf } from '../config.js';
import { correlate, referenceAlert } from '../engine/engine.js';
import type { Rule } from '../engine/rule.js';
import { ConflictError, TransientError } from '../errors.js';
import type {
  AlertRecord,
  CorrelationJob,
  GroupState,
  IncidentEventType,
  Logger,
  NotificationKey,
  Sink,
  Store,
} from '../ports.js';
import { groupAlertname, groupService } from '../schemas/alertmanager.js';
import { MAX_SERVICE_LENGTH } from '../schemas/context.js';
import type { Incident, OpenIncidentRef } from '../schemas/incident.js';
import { applyAlerts, belongsTo, groupFromRecords, incidentIdOf, type ResolvePolicy } from './lifecycle.js';

export interface WorkerDeps {
  store: Store;
  sinks: readonly Sink[];
  rules: readonly Rule[];
  config: EngineConfig;
  resolvePolicy: ResolvePolicy;
  /** Turns an incident into its report: the templates, optionally rephrased by an LLM. */
  narrate: (incident: Incident) => Promise<string> | string;
  log: Logger;
  now?: () => number;
  /** A notification claim older than this is taken to be abandoned by a crashed worker. */
  notificationLeaseMs?: number;
  /** Attempts at folding a group before giving the job back to the queue on write conflicts. */
  maxConflictRetries?: number;
}

const toRef = (i: Incident): OpenIncidentRef => ({
  id: i.id,
  service: i.service,
  alertname: i.alertname,
  fingerprints: i.alerts.map((a) => a.fingerprint),
  groupKey: i.groupKey,
  status: i.status,
  openedAt: i.openedAt,
});

async function openIncident(
  deps: WorkerDeps,
  state: GroupState,
  records: AlertRecord[],
  nowMs: number,
): Promise<{ incident: Incident; created: boolean }> {
  const group = groupFromRecords(records);
  const reference = referenceAlert(group);
  const service = groupService(group);
  const window = contextWindowOf(deps.config, Date.parse(reference.startsAt));
  // No context can be stored under a service name longer than the context API accepts.
  const [context, open] = await Promise.all([
    service.length <= MAX_SERVICE_LENGTH
      ? deps.store.loadContext(service, window, nowMs)
      : { deploys: [], logs: [], traces: [] },
    deps.store.listOpenIncidents(),
  ]);
  const correlation = correlate({
    group,
    context,
    openIncidents: open.filter((i) => i.groupKey !== group.groupKey).map(toRef),
    config: deps.config,
    rules: deps.rules,
  });
  const openedAt = records.map((r) => r.receivedAt).reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
  const blank: Incident = {
    id: incidentIdOf(group.groupKey, state.seq + 1),
    status: 'open',
    severity: correlation.severity,
    service,
    alertname: groupAlertname(group),
    title: correlation.title,
    team: correlation.team,
    groupKey: group.groupKey,
    openedAt,
    resolvedAt: null,
    resolution: null,
    lastSeenAt: openedAt,
    alertCount: 0,
    firingCount: 0,
    resolvedAlertCount: 0,
    truncatedAlerts: 0,
    alerts: [],
    findings: correlation.findings,
    narration: '',
    previousIncidentId: state.lastIncidentId,
    version: 1,
  };
  const { incident } = applyAlerts(blank, records, deps.resolvePolicy);
  incident.narration = await deps.narrate(incident);
  const created = await deps.store.createIncident(incident);
  if (created) return { incident, created };
  // A retry of this job (or a concurrent one) created it first: carry on with the stored one.
  const stored = await deps.store.getIncident(incident.id);
  if (!stored) throw new ConflictError(`incident ${incident.id} vanished while being created`);
  return { incident: stored, created: false };
}

/**
 * Folds a group's pending alerts into its open incident, opening one when there is none. Every write
 * is conditional (version or existence), so concurrent workers and retried jobs converge on the same
 * state; a lost race throws ConflictError and the caller tries again.
 */
async function foldGroup(deps: WorkerDeps, job: CorrelationJob, nowMs: number): Promise<Incident | null> {
  const { store } = deps;
  const stored = await store.getGroupState(job.groupId);
  const pending = await store.pendingAlerts(job.groupId);
  const state: GroupState = stored ?? {
    groupId: job.groupId,
    groupKey: pending[0]?.groupKey ?? '',
    seq: 0,
    openIncidentId: null,
    lastIncidentId: null,
    version: 0,
  };
  const current = state.lastIncidentId ? await store.getIncident(state.lastIncidentId) : null;
  if (pending.length === 0) return current;

  if (current?.status === 'open') {
    const incident = await foldInto(deps, current, pending);
    await store.markApplied(pending, incident.id);
    return incident;
  }
  // Records of alerts the closed incident already holds (a late HA peer, a retry after the fold that
  // resolved it) stay with it; only alerts it never had can open the next incident.
  const fresh = current ? pending.filter((r) => !belongsTo(current, r)) : pending;
  const stale = pending.filter((r) => !fresh.includes(r));
  if (!fresh.some((r) => r.status === 'firing')) {
    // Resolutions of alerts whose incident is already closed (or that never fired here).
    await store.markApplied(pending, current?.id ?? 'none');
    return current;
  }
  // No open incident: firing alerts open a new one (linked to the last), never reopen the old.
  const opened = await openIncident(deps, state, fresh, nowMs);
  // A retry (or a racing worker) found it already created: fold in what arrived since.
  const incident = opened.created ? opened.incident : await foldInto(deps, opened.incident, fresh);
  if (opened.created) {
    await store.addStats({ incidentsOpened: 1, ...(incident.status === 'resolved' ? { incidentsResolved: 1 } : {}) });
  }
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
  if (stale.length > 0 && current) await store.markApplied(stale, current.id);
  await store.markApplied(fresh, incident.id);
  return incident;
}

/** What a fold can change, in a form that survives a round trip through the store. */
function foldState(i: Incident): string {
  const alerts = i.alerts.map((a) => `${a.fingerprint}@${a.startsAt}:${a.status}:${a.endsAt}:${a.lastSeenAt}`);
  return JSON.stringify([i.status, i.lastSeenAt, i.truncatedAlerts, i.resolvedAt, alerts, i.overflowFingerprints]);
}

/** Applies records to an open incident and writes it (version-checked) if anything changed. */
async function foldInto(deps: WorkerDeps, incident: Incident, records: AlertRecord[]): Promise<Incident> {
  const applied = applyAlerts(incident, records, deps.resolvePolicy);
  if (foldState(applied.incident) === foldState(incident)) return incident;
  const next: Incident = { ...applied.incident, version: incident.version + 1 };
  next.narration = await deps.narrate(next);
  await deps.store.updateIncident(next, incident.version);
  if (applied.resolvedNow) await deps.store.addStats({ incidentsResolved: 1 });
  return next;
}

async function recordSent(deps: WorkerDeps, key: NotificationKey, nowMs: number): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await deps.store.completeNotification(key, nowMs);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
  return false;
}

function eventsOf(incident: Incident): IncidentEventType[] {
  return incident.status === 'resolved' ? ['opened', 'resolved'] : ['opened'];
}

/**
 * Delivers each event of the incident to each sink at most once (an idempotency marker per sink and
 * event). A failing sink never blocks the others; its failure is reported so the job is retried.
 */
async function notify(deps: WorkerDeps, incident: Incident, nowMs: number): Promise<Error[]> {
  const failures: Error[] = [];
  const lease = deps.notificationLeaseMs ?? 60_000;
  for (const sink of deps.sinks) {
    for (const type of eventsOf(incident)) {
      const key = { incidentId: incident.id, event: type, sink: sink.name };
      const claim = await deps.store.claimNotification(key, nowMs, lease);
      if (claim === 'already_sent') continue;
      if (claim === 'in_flight') {
        failures.push(new TransientError(`${sink.name}: ${type} of ${incident.id} is being sent by another worker`));
        break;
      }
      try {
        await sink.deliver({ type, incident });
      } catch (error) {
        await deps.store.releaseNotification(key);
        await deps.store.addStats({ notificationsFailed: 1 });
        deps.log.warn('notification failed', {
          sink: sink.name,
          event: type,
          incidentId: incident.id,
          error: String(error),
        });
        failures.push(error instanceof Error ? error : new Error(String(error)));
        // "resolved" must not overtake "opened" on this sink.
        break;
      }
      // Sent: never release the claim now (a retry would send it twice); record it, trying hard.
      if (!(await recordSent(deps, key, nowMs))) {
        failures.push(new TransientError(`${sink.name}: ${type} of ${incident.id} was sent but not recorded`));
        break;
      }
      await deps.store.addStats({ notificationsSent: 1 }).catch(() => undefined);
    }
  }
  return failures;
}

export interface JobOutcome {
  incidentId: string | null;
}

/**
 * Processes one correlation job: fold the group's pending alerts into its incident (persisted first),
 * then notify the sinks. Throws when the job must be retried: a store fault, repeated write
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
  const failures = await notify(deps, incident, now());
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
  return { incidentId: incident.id };
}
