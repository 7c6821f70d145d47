/**
 * What changed between two states of an incident, and which changes are worth telling people about.
 * Pure: the worker compares the stored incident with the refolded, re-correlated one.
 */
import type { IncidentChange } from '../ports.js';
import { type Finding, type Incident, type Severity, severityRank } from '../schemas/incident.js';

/** A finding's identity across correlations: its rule and what it points at first. */
const identity = (f: Finding) => `${f.ruleId}|${f.evidence[0]?.ref ?? ''}`;
const upper = (s: Severity) => s.toUpperCase();

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
  if (newFiring > 0) {
    changes.push({
      kind: 'alerts_firing',
      summary: `${newFiring} new firing alert${newFiring === 1 ? '' : 's'} (${after.firingCount} of ${after.alertCount} firing)`,
    });
  }
  const resolved = after.resolvedAlertCount - before.resolvedAlertCount;
  if (resolved > 0 && after.status === 'open') {
    changes.push({
      kind: 'alerts_resolved',
      summary: `Partially resolved: ${after.resolvedAlertCount} of ${after.alertCount} alerts resolved`,
    });
  }
  if (severityRank(after.severity) > severityRank(before.severity)) {
    changes.push({
      kind: 'severity_up',
      summary: `Severity raised from ${upper(before.severity)} to ${upper(after.severity)}`,
    });
  }
  const old = new Map(before.findings.map((f) => [identity(f), f]));
  const current = new Set(after.findings.map(identity));
  for (const finding of after.findings) {
    const previous = old.get(identity(finding));
    const ruleId = finding.ruleId;
    if (!previous) {
      changes.push({
        kind: 'finding_added',
        ruleId,
        severity: finding.severity,
        summary: `New finding [${upper(finding.severity)}]: ${finding.summary}`,
      });
    } else if (severityRank(finding.severity) > severityRank(previous.severity)) {
      changes.push({
        kind: 'finding_escalated',
        ruleId,
        severity: finding.severity,
        summary: `Escalated [${upper(previous.severity)} → ${upper(finding.severity)}]: ${finding.summary}`,
      });
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
