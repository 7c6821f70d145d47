/**
 * What changed since an incident was last announced, and which changes are worth telling people about.
 * Pure: the worker compares the refolded, re-correlated incident with the stored one (for the alerts)
 * and with what was last announced (for its severity and findings).
 */
import type { IncidentChange } from '../ports.js';
import {
  type Announced,
  type Finding,
  type Incident,
  MAX_TIMELINE_ENTRIES,
  type Severity,
  severityRank,
  type TimelineEntry,
} from '../schemas/incident.js';

/** A finding's identity across correlations: its rule and what it points at first. */
const identity = (f: Finding) => `${f.ruleId}|${f.evidence[0]?.ref ?? ''}`;
const upper = (s: Severity) => s.toUpperCase();

/** `count` alerts newly firing, and how many of the incident's fire now. */
function firingChange(count: number, after: Incident): IncidentChange {
  return {
    kind: 'alerts_firing',
    count,
    summary: `${count} new firing alert${count === 1 ? '' : 's'} (${after.firingCount} of ${after.alertCount} firing)`,
  };
}

/** The incident's severity up from `from` to `to`. */
function severityUp(from: Severity, to: Severity): IncidentChange {
  return { kind: 'severity_up', from, severity: to, summary: `Severity raised from ${upper(from)} to ${upper(to)}` };
}

/** `finding`, new since the last update. */
function findingAdded(finding: Finding): IncidentChange {
  return {
    kind: 'finding_added',
    ruleId: finding.ruleId,
    severity: finding.severity,
    summary: `New finding [${upper(finding.severity)}]: ${finding.summary}`,
  };
}

/** `finding`, more severe than `from`. */
function findingEscalated(from: Severity, finding: Finding): IncidentChange {
  return {
    kind: 'finding_escalated',
    ruleId: finding.ruleId,
    from,
    severity: finding.severity,
    summary: `Escalated [${upper(from)} → ${upper(finding.severity)}]: ${finding.summary}`,
  };
}

/** New firing alerts and a partial resolution, from `before` to `after`. */
function alertChanges(before: Incident, after: Incident): IncidentChange[] {
  const changes: IncidentChange[] = [];
  const known = new Set(before.alerts.map((a) => `${a.fingerprint}@${a.startsAt}`));
  const newFiring =
    after.alerts.filter((a) => a.status === 'firing' && !known.has(`${a.fingerprint}@${a.startsAt}`)).length +
    Math.max(0, (after.overflowCount ?? 0) - (before.overflowCount ?? 0));
  if (newFiring > 0) changes.push(firingChange(newFiring, after));
  const resolved = after.resolvedAlertCount - before.resolvedAlertCount;
  if (resolved > 0 && after.status === 'open') {
    changes.push({
      kind: 'alerts_resolved',
      summary: `Partially resolved: ${after.resolvedAlertCount} of ${after.alertCount} alerts resolved`,
    });
  }
  return changes;
}

/** `finding` new since a state it was not in (`was` undefined), or more severe than it was (`was`). */
function findingRaised(finding: Finding, was: Severity | undefined): IncidentChange | undefined {
  if (was === undefined) return findingAdded(finding);
  return severityRank(finding.severity) > severityRank(was) ? findingEscalated(was, finding) : undefined;
}

/**
 * Worth an `updated` notification: new firing alerts, a partial resolution, the incident's severity
 * going up, or a new or escalated finding of MEDIUM or worse. Everything else is recorded silently.
 */
export function isMaterial(change: IncidentChange): boolean {
  switch (change.kind) {
    case 'alerts_firing':
    case 'alerts_resolved':
    case 'severity_up':
      return true;
    case 'finding_added':
    case 'finding_escalated':
      return severityRank(change.severity ?? 'info') >= severityRank('medium');
    default:
      return false;
  }
}

/** What announcing `incident` as it stands tells people of its severity and findings. */
export function announcedOf(incident: Pick<Incident, 'severity' | 'findings'>): Announced {
  return {
    severity: incident.severity,
    findings: Object.fromEntries(incident.findings.map((f) => [identity(f), f.severity])),
  };
}

/** The incident's most severe finding of the rule `ruleId`. */
const mostSevere = (incident: Incident, ruleId: string | undefined) =>
  incident.findings
    .filter((f) => f.ruleId === ruleId)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity))[0];

/**
 * What was last announced of an incident stored before `announced` was recorded: its state with its
 * held changes undone. Those name a rule, not a finding: each stood for the finding its summary ends
 * with (a rule may have two, a deploy before and one during), else for the rule's most severe one.
 */
function announcedBeforeHeld(incident: Incident): Announced {
  const held = incident.pendingChanges ?? [];
  const heldOf = (kind: IncidentChange['kind'], ruleId?: string) =>
    held.find((c) => c.kind === kind && c.ruleId === ruleId);
  const stoodFor = (change: IncidentChange | undefined) =>
    change &&
    (incident.findings.find((f) => f.ruleId === change.ruleId && change.summary.endsWith(`]: ${f.summary}`)) ??
      mostSevere(incident, change.ruleId));
  const findings: Record<string, Severity> = {};
  for (const finding of incident.findings) {
    if (stoodFor(heldOf('finding_added', finding.ruleId)) === finding) continue;
    const escalated = heldOf('finding_escalated', finding.ruleId);
    findings[identity(finding)] = (stoodFor(escalated) === finding && escalated?.from) || finding.severity;
  }
  return { severity: heldOf('severity_up')?.from ?? incident.severity, findings };
}

/**
 * The severity and finding changes from what was last announced to `incident` now, that are worth
 * announcing: gone up, or new at MEDIUM or worse. Measured from the announcement, not from the states
 * in between, a change undone before it went out leaves nothing, and one redone from a lower point
 * says only how far it went past what people were told.
 */
function raisedSince(announced: Announced, incident: Incident): IncidentChange[] {
  const changes: IncidentChange[] = [];
  if (severityRank(incident.severity) > severityRank(announced.severity))
    changes.push(severityUp(announced.severity, incident.severity));
  for (const finding of incident.findings) {
    const raised = findingRaised(finding, announced.findings[identity(finding)]);
    if (raised && isMaterial(raised)) changes.push(raised);
  }
  return changes;
}

/**
 * The held alert changes with `fresh` ones: the alerts that fired since the last update add up (the
 * newest count says how many fire now), and a newer partial resolution replaces the held one. They
 * are counts of events, which no state of the incident keeps, so they are merged rather than measured.
 */
function mergedAlertChanges(held: IncidentChange[], fresh: IncidentChange[], incident: Incident): IncidentChange[] {
  const of = (changes: IncidentChange[], kind: IncidentChange['kind']) => changes.find((c) => c.kind === kind);
  const [heldFiring, freshFiring] = [of(held, 'alerts_firing'), of(fresh, 'alerts_firing')];
  const firing =
    heldFiring && freshFiring
      ? firingChange((heldFiring.count ?? 0) + (freshFiring.count ?? 0), incident)
      : (freshFiring ?? heldFiring);
  const resolved = of(fresh, 'alerts_resolved') ?? of(held, 'alerts_resolved');
  return [firing, resolved].filter((c): c is IncidentChange => c !== undefined);
}

/** Appends to the timeline, keeping the first entry ("opened") and the newest ones. */
export function withTimeline(incident: Incident, entry: TimelineEntry): TimelineEntry[] {
  const timeline = [...(incident.timeline ?? []), entry];
  return timeline.length <= MAX_TIMELINE_ENTRIES
    ? timeline
    : [timeline[0] as TimelineEntry, ...timeline.slice(-(MAX_TIMELINE_ENTRIES - 1))];
}

/** The timeline entry of a resolution by the alerts themselves. */
export function resolvedEntry(incident: Incident): TimelineEntry {
  const how = incident.resolution === 'any_alert_resolved' ? 'an alert resolved' : 'every alert resolved';
  return { at: incident.resolvedAt ?? incident.lastSeenAt, type: 'resolved', summary: `Resolved: ${how}` };
}

// Changes in one pending update; more would not be read.
const MAX_PENDING_CHANGES = 20;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Records what changed from `before` to `after` at `nowMs`. The pending update says what changed
 * since the last announcement (the opening or the last update, `announced`): the alerts that fired or
 * resolved meanwhile, and the severity and findings as they stand now against what was announced. It
 * is cut into an announced update (`lastUpdate`, a new revision, a timeline entry, a new `announced`)
 * once `updateMinMs` has passed since the last announcement and no mute holds it; until then `wakeAt`
 * says when to look again. A resolution takes the pending changes with it: its own message says it all.
 */
export function recordChanges(
  before: Incident,
  after: Incident,
  nowMs: number,
  updateMinMs: number,
): { incident: Incident; wakeAt: number | null } {
  const next: Incident = { ...after };
  if (next.status === 'resolved') {
    if (before.status === 'open') {
      next.pendingChanges = [];
      next.timeline = withTimeline(next, resolvedEntry(next));
    }
    return { incident: next, wakeAt: null };
  }
  const announced = before.announced ?? announcedBeforeHeld(before);
  const held = next.pendingChanges ?? [];
  const pending = [
    ...mergedAlertChanges(held, alertChanges(before, next), next),
    ...raisedSince(announced, next),
  ].slice(0, MAX_PENDING_CHANGES);
  if (pending.length === 0) {
    // Unchanged when nothing was held, so that a job that changed nothing writes nothing.
    return { incident: { ...next, announced, ...(held.length > 0 ? { pendingChanges: [] } : {}) }, wakeAt: null };
  }
  // A mute holds the update whole, not only its delivery: cut while muted, a revision would be
  // superseded by the next one before anybody saw it, and what it said lost from the update that goes out.
  const dueAt = Math.max(
    Date.parse(before.lastUpdate?.at ?? before.openedAt) + updateMinMs,
    next.mute ? Date.parse(next.mute.until) : 0,
  );
  if (nowMs < dueAt) return { incident: { ...next, announced, pendingChanges: pending }, wakeAt: dueAt };
  const revision = (before.lastUpdate?.revision ?? 0) + 1;
  return {
    incident: {
      ...next,
      pendingChanges: [],
      announced: announcedOf(next),
      lastUpdate: { revision, at: iso(nowMs), changes: pending },
      timeline: withTimeline(next, {
        at: iso(nowMs),
        type: 'updated',
        summary: `Update ${revision}: ${pending[0]?.summary ?? 'changed'}`,
        changes: pending.map((c) => c.summary),
      }),
    },
    wakeAt: null,
  };
}
