/**
 * The templated incident report: plain text, deterministic (no clock), built only from the incident
 * and its findings. An LLM may rephrase it later; it is always complete without one.
 */
import { compareFindings } from '../engine/engine.js';
import type { Evidence, Finding, Incident } from '../schemas/incident.js';

/**
 * What the templates read: the stored incident satisfies it, and so does a fresh correlation that
 * was never persisted (the replay CLI), which has no id, counts or history yet.
 */
export type NarrationInput = Pick<
  Incident,
  'title' | 'severity' | 'status' | 'service' | 'alertname' | 'team' | 'openedAt' | 'resolvedAt' | 'findings'
> &
  Partial<
    Pick<
      Incident,
      | 'id'
      | 'alertCount'
      | 'firingCount'
      | 'resolvedAlertCount'
      | 'truncatedAlerts'
      | 'previousIncidentId'
      | 'resolution'
      | 'timeline'
    >
  >;

// Rules whose findings answer "has something just changed?", the responder's first question.
const CHANGE_RULES = new Set(['deploy.recent_correlated']);
// And "is this already being worked on?", the second: a LOW finding that would otherwise rank far down.
const DUPLICATE_RULES = new Set(['incident.duplicate_open']);

const upper = (s: string) => s.toUpperCase();
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function duration(fromIso: string, toIso: string): string | undefined {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function evidenceLine(e: Evidence): string {
  // Most details already carry their time; repeating it only adds noise.
  const at = e.at && !e.ref.includes(e.at) && !e.detail.includes(e.at) ? ` (${e.at})` : '';
  // Likewise the ref, when the detail already names it.
  return e.detail.includes(e.ref) ? `- ${e.kind}: ${e.detail}${at}` : `- ${e.kind} ${e.ref}: ${e.detail}${at}`;
}

function statusLines(incident: NarrationInput): string[] {
  const lines: string[] = [];
  const id = incident.id ? `Incident ${incident.id}, ` : '';
  if (incident.status === 'resolved') {
    lines.push(
      `Status: ${id}resolved${incident.resolvedAt ? ` at ${incident.resolvedAt}` : ''}, opened ${incident.openedAt}`,
    );
  } else {
    lines.push(`Status: ${id}open since ${incident.openedAt}`);
  }
  const total = incident.alertCount ?? 0;
  const resolved = incident.resolvedAlertCount ?? 0;
  if (incident.status === 'open' && resolved > 0 && resolved < total) {
    lines.push(`Partially resolved: ${resolved} of ${plural(total, 'alert')} resolved`);
  } else if (total > 0) {
    lines.push(`Alerts: ${total}${incident.firingCount !== undefined ? `, ${incident.firingCount} firing` : ''}`);
  }
  const truncated = incident.truncatedAlerts ?? 0;
  if (truncated > 0) {
    lines.push(
      `Alertmanager left out ${plural(truncated, 'alert')} of this group (max_alerts); counts cover only those sent`,
    );
  }
  if (incident.previousIncidentId) lines.push(`Recurs after incident ${incident.previousIncidentId}`);
  return lines;
}

function findingBlock(finding: Finding, rank: number): string[] {
  const pad = ' '.repeat(String(rank).length + 2);
  return [
    `${rank}. [${upper(finding.severity)}] ${finding.summary}`,
    `${pad}rule ${finding.ruleId}, confidence ${finding.confidence}`,
    ...finding.evidence.map((e) => `${pad}${evidenceLine(e)}`),
    `${pad}Next: ${finding.suggestion}`,
  ];
}

/**
 * The full report for a page or a chat message: headline, owner and status, "What changed" (deploy
 * findings first), "Already open" (a likely duplicate, if any), then every finding most severe first
 * with its evidence and next step.
 */
export function narrate(incident: NarrationInput): string {
  const findings = [...incident.findings].sort(compareFindings);
  const changes = findings.filter((f) => CHANGE_RULES.has(f.ruleId));
  const lines = [
    `[${upper(incident.severity)}] ${incident.title}`,
    `Service: ${incident.service} | Alert: ${incident.alertname} | Team: ${incident.team}`,
    ...statusLines(incident),
    '',
    'What changed',
    ...(changes.length
      ? changes.map((f) => `- ${f.summary}`)
      : [`- No deploy of ${incident.service} was found near the start of the alert.`]),
    '',
  ];
  const duplicates = findings.filter((f) => DUPLICATE_RULES.has(f.ruleId));
  if (duplicates.length > 0) lines.push('Already open', ...duplicates.map((f) => `- ${f.summary}`), '');
  if (findings.length === 0) {
    lines.push(
      'Findings',
      `- No change, log spike or latency regression found in the window: no deploy of ${incident.service}, no burst of its error logs, no tail latency above its threshold. Start from the alert itself.`,
    );
  } else {
    lines.push(`Findings (${findings.length}, most severe first)`);
    findings.forEach((f, i) => {
      lines.push(...findingBlock(f, i + 1));
    });
  }
  lines.push(...timelineLines(incident));
  return lines.join('\n');
}

// Timeline entries shown in a report; the API and the stored item keep all of them.
const TIMELINE_SHOWN = 10;

function timelineLines(incident: NarrationInput): string[] {
  const timeline = incident.timeline ?? [];
  if (timeline.length < 2) return [];
  const shown = timeline.slice(-TIMELINE_SHOWN);
  const hidden = timeline.length - shown.length;
  return [
    '',
    'Timeline',
    ...(hidden > 0 ? [`- …${plural(hidden, 'earlier entry', 'earlier entries')}`] : []),
    ...shown.map((e) => {
      // An update's summary names its first change only; the others must not read as if they never happened.
      const others = (e.changes?.length ?? 0) - 1;
      const more = others > 0 ? ` (and ${plural(others, 'more change')})` : '';
      return `- ${e.at} ${e.type}: ${e.summary}${more}${e.by ? ` (${e.by})` : ''}`;
    }),
  ];
}

/**
 * An `updated` notification: what changed since the last update (merged when several changes came
 * within the rate limit), then the incident as it is now.
 */
export function narrateUpdate(
  incident: NarrationInput,
  changes: readonly { summary: string }[],
  revision?: number,
): string {
  const id = incident.id ? ` (incident ${incident.id}${revision ? `, update ${revision}` : ''})` : '';
  return [
    `[UPDATE] ${incident.title}${id}`,
    '',
    'What changed since the last update',
    ...(changes.length ? changes.map((c) => `- ${c.summary}`) : ['- (nothing material)']),
    '',
    narrate(incident),
  ].join('\n');
}

const RESOLUTION_TEXT: Record<NonNullable<Incident['resolution']>, string> = {
  all_alerts_resolved: 'all alerts resolved',
  any_alert_resolved: 'an alert resolved',
  manual: 'resolved by hand',
};

/** The short follow-up when an incident resolves: what, when, after how long, and how. */
export function narrateResolution(incident: NarrationInput): string {
  const id = incident.id ? ` (incident ${incident.id})` : '';
  const after = incident.resolvedAt ? duration(incident.openedAt, incident.resolvedAt) : undefined;
  const when = incident.resolvedAt ? ` at ${incident.resolvedAt}` : '';
  const how = incident.resolution ? `; ${RESOLUTION_TEXT[incident.resolution]}` : '';
  const recurrence = incident.previousIncidentId ? ` Recurred after incident ${incident.previousIncidentId}.` : '';
  return `[RESOLVED] ${incident.title}${id}: resolved${when}${after ? ` after ${after}` : ''}${how}. Team: ${incident.team}.${recurrence}`;
}
