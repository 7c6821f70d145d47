/**
 * What changed between two states of an incident, and which changes are worth telling people about.
 * Pure: the worker compares the stored incident with the refolded, re-correlated one.
 */
import type { IncidentChange } from '../ports.js';
import {
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

/**
 * Changes from `before` to `after`, most important first: new firing alerts, partial resolutions,
 * findings added, escalated, changed or removed, and the incident's severity.
 */
export function diffIncident(before: Incident, after: Incident): IncidentChange[] {
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
  if (severityRank(after.severity) > severityRank(before.severity))
    changes.push(severityUp(before.severity, after.severity));
  const old = new Map(before.findings.map((f) => [identity(f), f]));
  const current = new Set(after.findings.map(identity));
  for (const finding of after.findings) {
    const previous = old.get(identity(finding));
    const ruleId = finding.ruleId;
    if (!previous) {
      changes.push(findingAdded(finding));
    } else if (severityRank(finding.severity) > severityRank(previous.severity)) {
      changes.push(findingEscalated(previous.severity, finding));
    } else if (finding.severity !== previous.severity || finding.confidence !== previous.confidence) {
      changes.push({
        kind: 'finding_changed',
        ruleId,
        severity: finding.severity,
        summary: `Now [${upper(finding.severity)}, ${finding.confidence} confidence]: ${finding.summary}`,
      });
    }
  }
  for (const finding of before.findings) {
    if (!current.has(identity(finding))) {
      changes.push({ kind: 'finding_removed', ruleId: finding.ruleId, summary: `No longer found: ${finding.summary}` });
    }
  }
  if (severityRank(after.severity) < severityRank(before.severity)) {
    changes.push({
      kind: 'severity_down',
      summary: `Severity lowered from ${upper(before.severity)} to ${upper(after.severity)}`,
    });
  }
  return changes;
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

/** The incident's most severe finding of the rule `ruleId`. */
const mostSevere = (incident: Incident, ruleId: string | undefined) =>
  incident.findings
    .filter((f) => f.ruleId === ruleId)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity))[0];

/**
 * A change merged with the held one of its kind (and rule), `earlier`: alerts that fired since the last
 * update add up (the newest change says how many fire now); a severity or a finding raised again says
 * how far it rose since the last update, not since the held raise.
 */
function mergedWith(change: IncidentChange, earlier: IncidentChange | undefined, incident: Incident): IncidentChange {
  if (!earlier) return change;
  if (change.kind === 'alerts_firing') return firingChange((change.count ?? 0) + (earlier.count ?? 0), incident);
  if (change.kind === 'severity_up' && earlier.from) return severityUp(earlier.from, incident.severity);
  const finding = mostSevere(incident, change.ruleId);
  if (change.kind === 'finding_escalated' && earlier.from && finding) return findingEscalated(earlier.from, finding);
  return change;
}

/**
 * A held change as the incident stands now, or undefined when that is no news. A finding added or
 * escalated, or a severity raised, that went back down before the update went out is announced as far
 * as it still goes (raised to CRITICAL and back to HIGH: "from MEDIUM to HIGH"); gone again, back to
 * where it was, or a new finding below MEDIUM, it is dropped: announcing it as recorded would report
 * what the incident no longer shows. (A change held before `from` was recorded is kept or dropped whole.)
 */
function asItStands(change: IncidentChange, incident: Incident): IncidentChange | undefined {
  const was = severityRank(change.severity ?? 'info');
  if (change.kind === 'severity_up') {
    const now = incident.severity;
    if (severityRank(now) >= was) return change;
    return change.from && severityRank(now) > severityRank(change.from) ? severityUp(change.from, now) : undefined;
  }
  if (change.kind !== 'finding_added' && change.kind !== 'finding_escalated') return change;
  const finding = mostSevere(incident, change.ruleId);
  if (!finding) return undefined;
  if (severityRank(finding.severity) >= was) return change;
  if (!isMaterial({ ...change, severity: finding.severity })) return undefined;
  if (change.kind === 'finding_added') return findingAdded(finding);
  return change.from && severityRank(finding.severity) > severityRank(change.from)
    ? findingEscalated(change.from, finding)
    : undefined;
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

// Changes merged into one pending update; more would not be read.
const MAX_PENDING_CHANGES = 20;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Records what changed from `before` to `after` at `nowMs`: material changes join the pending ones
 * and are cut into an announced update (`lastUpdate`, a new revision, a timeline entry) once
 * `updateMinMs` has passed since the last announcement (or the opening); until then `wakeAt` says when
 * to look again. A held change undone meanwhile is dropped, one partly undone restated (see asItStands). A resolution takes the
 * pending changes with it: its own message says it all.
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
  const material = diffIncident(before, next).filter(isMaterial);
  if (material.length === 0 && !next.pendingChanges?.length) return { incident: next, wakeAt: null };
  const seen = new Set<string>();
  const held = new Map((next.pendingChanges ?? []).map((c) => [`${c.kind}|${c.ruleId}`, c]));
  const merged = material.map((c) => mergedWith(c, held.get(`${c.kind}|${c.ruleId}`), next));
  // Newest first: a later change of the same kind (and rule) replaces the earlier one.
  const pending = [...merged, ...(next.pendingChanges ?? [])]
    .filter((c) => !seen.has(`${c.kind}|${c.ruleId}`) && seen.add(`${c.kind}|${c.ruleId}`))
    .flatMap((c) => asItStands(c, next) ?? [])
    .slice(0, MAX_PENDING_CHANGES);
  if (pending.length === 0) return { incident: { ...next, pendingChanges: [] }, wakeAt: null };
  const lastAt = Date.parse(before.lastUpdate?.at ?? before.openedAt);
  if (nowMs - lastAt < updateMinMs)
    return { incident: { ...next, pendingChanges: pending }, wakeAt: lastAt + updateMinMs };
  const revision = (before.lastUpdate?.revision ?? 0) + 1;
  return {
    incident: {
      ...next,
      pendingChanges: [],
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
