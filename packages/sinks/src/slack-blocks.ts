/**
 * Block Kit building blocks shared by both Slack modes (incoming webhook and app). Every string that
 * came from outside (alert labels, titles, rule output quoting logs and commits) passes through
 * `escape.ts` before it reaches any text field; the layout's own markup is the only mrkdwn that Slack
 * interprets.
 */
import {
  compareFindings,
  type Evidence,
  type Finding,
  type Incident,
  type IncidentAlert,
  type IncidentEventType,
  type Severity,
} from '@incident-pilot/core';
import {
  defuseBareMentions,
  escapeSlackText,
  oneLine,
  SLACK_LIMITS,
  slackCode,
  slackText,
  truncateEscaped,
} from './escape.js';

export interface PlainTextObject {
  type: 'plain_text';
  text: string;
  emoji: boolean;
}

export interface MrkdwnObject {
  type: 'mrkdwn';
  text: string;
  /** Always true: no auto-linking of bare URLs, channel names or mentions in untrusted text. */
  verbatim: true;
}

/** An interactive button (app mode); `value` carries what the handler needs, never user text. */
export interface ButtonElement {
  type: 'button';
  text: PlainTextObject;
  action_id: string;
  value: string;
  style?: 'primary' | 'danger';
}

export type SlackBlock =
  | { type: 'header'; text: PlainTextObject }
  | { type: 'section'; text?: MrkdwnObject; fields?: MrkdwnObject[] }
  | { type: 'context'; elements: MrkdwnObject[] }
  | { type: 'actions'; block_id?: string; elements: ButtonElement[] }
  | { type: 'divider' };

export const MAX_FINDINGS = 5;
const MAX_EVIDENCE = 5;
const MAX_ALERT_LINES = 5;

export const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: '🔴',
  high: '🟠',
  medium: '🟡',
  low: '🔵',
  info: '⚪',
};

// Labels already shown as fields; repeating them on every alert line would only add noise.
const SHOWN_LABELS = new Set(['alertname', 'service', 'severity', 'team']);

export const mrkdwn = (text: string): MrkdwnObject => ({ type: 'mrkdwn', text: text || ' ', verbatim: true });

/** One line of untrusted text, escaped and cut to `max`. */
export const plain = (s: string, max: number) => slackText(s, max, { singleLine: true });

export function header(prefix: string, title: string): SlackBlock {
  const text = `${prefix}${slackText(title, SLACK_LIMITS.headerText - prefix.length, { singleLine: true })}`;
  return { type: 'header', text: { type: 'plain_text', text, emoji: true } };
}

function field(label: string, value: string): MrkdwnObject {
  return mrkdwn(truncateEscaped(`*${label}*\n${value}`, SLACK_LIMITS.sectionField));
}

/**
 * Joins lines into one section, within Slack's limit. Whole lines are dropped (with a note) rather
 * than cut, so a code span is never left open; only a lone oversized first line is truncated.
 */
export function section(lines: string[]): SlackBlock {
  const limit = SLACK_LIMITS.sectionText - 40; // room for the note
  const kept: string[] = [];
  let used = 0;
  for (const [i, line] of lines.entries()) {
    if (used + line.length > limit) {
      if (kept.length === 0) kept.push(truncateEscaped(line, limit));
      else kept.push(`…${lines.length - i} more line${lines.length - i === 1 ? '' : 's'} cut for length`);
      break;
    }
    kept.push(line);
    used += line.length + 1;
  }
  return { type: 'section', text: mrkdwn(truncateEscaped(kept.join('\n'), SLACK_LIMITS.sectionText)) };
}

function alertsSummary(incident: Incident): string {
  const { firingCount, resolvedAlertCount } = incident;
  const counts = `${firingCount} firing, ${resolvedAlertCount} resolved`;
  return firingCount > 0 && resolvedAlertCount > 0 ? `${counts} — partially resolved` : counts;
}

/** The severity/service/alert/team/status/alerts fields, plus truncation and recurrence notes. */
export function summaryFields(incident: Incident): SlackBlock {
  const fields = [
    field('Severity', `${SEVERITY_EMOJI[incident.severity]} ${incident.severity}`),
    field('Service', plain(incident.service, 500)),
    field('Alert', plain(incident.alertname, 500)),
    field('Team', plain(incident.team || 'unassigned', 500)),
    field('Status', incident.status),
    field('Alerts', alertsSummary(incident)),
  ];
  if (incident.truncatedAlerts > 0) {
    const n = incident.truncatedAlerts;
    fields.push(field('Truncated', `Alertmanager left out ${n} more alert${n === 1 ? '' : 's'} (max_alerts)`));
  }
  if (incident.previousIncidentId) {
    fields.push(field('Recurrence', `recurs after ${slackCode(incident.previousIncidentId, 300)}`));
  }
  return { type: 'section', fields: fields.slice(0, SLACK_LIMITS.sectionFields) };
}

export function alertsBlock(alerts: IncidentAlert[]): SlackBlock {
  // Firing first, then oldest first: what is still burning, in the order it started.
  const sorted = [...alerts].sort((a, b) =>
    a.status === b.status ? a.startsAt.localeCompare(b.startsAt) : a.status === 'firing' ? -1 : 1,
  );
  const lines = ['*Alerts*'];
  for (const alert of sorted.slice(0, MAX_ALERT_LINES)) {
    const labels = Object.entries(alert.labels)
      .filter(([k]) => !SHOWN_LABELS.has(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const parts = [`• ${alert.status} ${slackCode(alert.fingerprint, 40)}`];
    if (alert.summary) parts.push(plain(alert.summary, 300));
    if (labels) parts.push(`(${plain(labels, 300)})`);
    lines.push(parts.join(' '));
  }
  if (sorted.length > MAX_ALERT_LINES) lines.push(`…and ${sorted.length - MAX_ALERT_LINES} more`);
  return section(lines);
}

function evidenceLine(evidence: Evidence): string {
  const at = evidence.at ? ` (${plain(evidence.at, 64)})` : '';
  return `• ${evidence.kind} ${slackCode(evidence.ref, 120)} ${plain(evidence.detail, 400)}${at}`;
}

export function findingBlock(finding: Finding, rank: number): SlackBlock {
  const lines = [
    `*${rank}. ${SEVERITY_EMOJI[finding.severity]} ${finding.severity} · ${finding.confidence} confidence* · ${slackCode(finding.ruleId, 100)}`,
    plain(finding.summary, 600),
    `*Try:* ${slackCode(finding.suggestion, 800)}`,
    '*Evidence:*',
    ...finding.evidence.slice(0, MAX_EVIDENCE).map(evidenceLine),
  ];
  const hidden = Math.max(0, finding.evidence.length - MAX_EVIDENCE);
  if (hidden > 0) lines.push(`…and ${hidden} more`);
  return section(lines);
}

/**
 * The ranked findings, at most five; `after` adds blocks after each one (the app's vote buttons).
 * A note names how many lower-ranked ones were left out.
 */
export function findingsBlocks(incident: Incident, after: (finding: Finding) => SlackBlock[] = () => []): SlackBlock[] {
  const findings = [...incident.findings].sort(compareFindings);
  const blocks: SlackBlock[] = [];
  if (findings.length === 0) blocks.push(section(['No rule found a likely cause; start from the alert runbook.']));
  for (const [i, finding] of findings.slice(0, MAX_FINDINGS).entries()) {
    blocks.push(findingBlock(finding, i + 1), ...after(finding));
  }
  if (findings.length > MAX_FINDINGS) {
    const rest = findings.length - MAX_FINDINGS;
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `${rest} more lower-ranked finding${rest === 1 ? '' : 's'}: ${slackCode(`GET /api/incidents/${encodeURIComponent(incident.id)}`, 400)}`,
        ),
      ],
    });
  }
  return blocks;
}

/**
 * The footer: the incident id, when, and — with a public URL — a link to the incident. The URL is the
 * operator's setting (checked to be http(s)) and the id is URL-encoded, so the link cannot be forged.
 */
export function contextBlock(incident: Incident, when: string, publicUrl?: string): SlackBlock {
  const elements = [
    mrkdwn(truncateEscaped(`incident-pilot · incident ${slackCode(incident.id, 300)}`, SLACK_LIMITS.contextElement)),
    mrkdwn(truncateEscaped(when, SLACK_LIMITS.contextElement)),
  ];
  const link = incidentLink(incident.id, publicUrl);
  if (link) elements.push(mrkdwn(`<${escapeSlackText(link)}|Open incident>`));
  return { type: 'context', elements };
}

/** `<publicUrl>/api/incidents/<id>`, or undefined without a usable public URL. */
export function incidentLink(id: string, publicUrl?: string): string | undefined {
  if (!publicUrl || !/^https?:\/\/[^\s<>|]+$/.test(publicUrl)) return undefined;
  const link = `${publicUrl.replace(/\/+$/, '')}/api/incidents/${encodeURIComponent(id)}`;
  return link.length <= 1500 ? link : undefined;
}

const RESOLUTION: Record<NonNullable<Incident['resolution']>, string> = {
  all_alerts_resolved: 'all alerts resolved',
  any_alert_resolved: 'an alert resolved',
  manual: 'by hand',
};

/** "1h 5m", "12m", "40s": how long the incident was open. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m`;
}

/** "resolved (all alerts resolved) after 1h 5m"; "by <name>" for a hand resolution from Slack. */
export function resolutionLine(incident: Incident): string {
  const resolvedAt = incident.resolvedAt ?? incident.lastSeenAt;
  const openFor = formatDuration(Date.parse(resolvedAt) - Date.parse(incident.openedAt));
  const why = incident.resolution ? RESOLUTION[incident.resolution] : 'resolved';
  const by = incident.resolvedBy ? ` by *${plain(incident.resolvedBy.name, 200)}*` : '';
  const after = Number.isNaN(Date.parse(resolvedAt)) ? 'an unknown time' : openFor;
  return `resolved (${why})${by} after ${after}`;
}

/** The resolution note as its own lines (empty without one). */
export function noteLines(incident: Incident): string[] {
  return incident.resolutionNote ? [`*Note:* ${slackText(incident.resolutionNote, 1500)}`] : [];
}

/** The notification text: short, escaped, with bare broadcast words defused. */
export function fallbackText(incident: Incident, type: IncidentEventType, revision?: number): string {
  const title = oneLine(incident.title || incident.alertname);
  const where = `${oneLine(incident.service)} (${oneLine(incident.id)})`;
  const raw =
    type === 'opened'
      ? `[${incident.severity.toUpperCase()}] ${title} — ${where}`
      : type === 'updated'
        ? `Update${revision ? ` ${revision}` : ''} [${incident.severity.toUpperCase()}]: ${title} — ${where}`
        : `Resolved: ${title} — ${where}`;
  // Defused before escaping, so the zero-width spaces count against the limit.
  return escapeSlackText(defuseBareMentions(raw), SLACK_LIMITS.fallbackText);
}
