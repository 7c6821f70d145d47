/**
 * The Slack sink: an incoming-webhook message in Block Kit, built from the incident alone.
 * Every string that came from outside (alert labels, titles, rule output quoting logs and commits)
 * passes through `escape.ts` before it reaches any text field; the layout's own markup is the only
 * mrkdwn that Slack interprets.
 */
import {
  compareFindings,
  type Evidence,
  type Finding,
  type Incident,
  type IncidentAlert,
  type IncidentEvent,
  IncidentPilotError,
  type Severity,
  type Sink,
  TransientError,
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

export type SlackBlock =
  | { type: 'header'; text: PlainTextObject }
  | { type: 'section'; text?: MrkdwnObject; fields?: MrkdwnObject[] }
  | { type: 'context'; elements: MrkdwnObject[] }
  | { type: 'divider' };

/** The JSON body posted to the webhook. */
export interface SlackMessage {
  /** Fallback for notifications and screen readers. */
  text: string;
  blocks: SlackBlock[];
  unfurl_links: false;
  unfurl_media: false;
}

export interface SlackSinkOptions {
  /** The incoming-webhook URL. A secret: it never appears in errors or logs. */
  webhookUrl: string;
  fetch?: typeof globalThis.fetch;
  /** Stable sink name (part of the notification idempotency key). */
  name?: string;
  /** Abort the POST after this long; a timeout is transient. */
  timeoutMs?: number;
}

/** Slack refused the message for a reason retrying will not fix (bad payload, deleted webhook, archived channel). */
export class SinkRejectedError extends IncidentPilotError {
  override name = 'SinkRejectedError';
  constructor(
    message: string,
    readonly sink: string,
    readonly status: number,
    /** Slack's error body, one line, truncated (e.g. `invalid_payload`, `no_service`). */
    readonly detail: string,
  ) {
    super(message);
  }
}

/** Used when Slack answers 429 without a usable `Retry-After`. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;
/** A larger `Retry-After` is clamped: the job queue cannot hold a message back much longer anyway. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

const MAX_FINDINGS = 5;
const MAX_EVIDENCE = 5;
const MAX_ALERT_LINES = 5;
const ERROR_DETAIL_CHARS = 200;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: '🔴',
  high: '🟠',
  medium: '🟡',
  low: '🔵',
  info: '⚪',
};

// Labels already shown as fields; repeating them on every alert line would only add noise.
const SHOWN_LABELS = new Set(['alertname', 'service', 'severity', 'team']);

/**
 * A `Sink` posting Block Kit messages to a Slack incoming webhook.
 * 2xx: delivered. 429: `TransientError` with `retryAfterSeconds` from `Retry-After` (default 30).
 * 5xx, 408, network errors, timeouts: `TransientError`. Other statuses: {@link SinkRejectedError}.
 */
export function createSlackSink({
  webhookUrl,
  fetch = globalThis.fetch,
  name = 'slack',
  timeoutMs = 15_000,
}: SlackSinkOptions): Sink {
  let secretPath = '';
  try {
    secretPath = new URL(webhookUrl).pathname;
  } catch {
    // Deliberately not echoing the value: it is a secret.
    throw new IncidentPilotError(`slack sink '${name}': the webhook URL is not a valid URL`);
  }
  const redact = (s: string) => {
    let out = s.split(webhookUrl).join('[webhook]');
    if (secretPath.length > 1) out = out.split(secretPath).join('[webhook]');
    return out;
  };

  return {
    name,
    async deliver(event) {
      const body = JSON.stringify(buildSlackMessage(event));
      let response: Response;
      try {
        response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw transportError(name, error, timeoutMs);
      }
      // Always drain the body so the connection is released; Slack's error body is a short code.
      const detail = redact(oneLine(await response.text().catch(() => ''))).slice(0, ERROR_DETAIL_CHARS);
      const { status } = response;
      if (status >= 200 && status < 300) return;
      const what = `slack sink '${name}': webhook answered ${status}${detail ? ` (${detail})` : ''}`;
      if (status === 429) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after')) ?? DEFAULT_RETRY_AFTER_SECONDS;
        throw new TransientError(`${what}; retry after ${retryAfter}s`, retryAfter);
      }
      if (status >= 500 || status === 408) {
        throw new TransientError(what, parseRetryAfter(response.headers.get('retry-after')));
      }
      throw new SinkRejectedError(what, name, status, detail);
    },
  };
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP-date), clamped to [0, 3600]. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  let seconds: number;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - nowMs) / 1000);
  }
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}

// Only the error's name/code: fetch's messages can quote the request URL, which is the secret.
function transportError(sink: string, error: unknown, timeoutMs: number): IncidentPilotError {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    // Slack may still post it: the worker keeps its claim until the lease ends rather than retry at once.
    return new TransientError(`slack sink '${sink}': no answer within ${timeoutMs}ms`, undefined, true);
  }
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  const code = [cause?.code, cause?.name, name].find((c) => typeof c === 'string' && /^[\w.-]{1,40}$/.test(c));
  return new TransientError(`slack sink '${sink}': network error${code ? ` (${code})` : ''}`);
}

/** The Block Kit message for an incident event; pure, exported for previews and tests. */
export function buildSlackMessage(event: IncidentEvent): SlackMessage {
  const blocks =
    event.type === 'opened'
      ? openedBlocks(event.incident)
      : event.type === 'updated'
        ? updatedBlocks(event)
        : resolvedBlocks(event.incident);
  return {
    text: fallbackText(event),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
    unfurl_links: false,
    unfurl_media: false,
  };
}

const mrkdwn = (text: string): MrkdwnObject => ({ type: 'mrkdwn', text: text || ' ', verbatim: true });

function header(prefix: string, title: string): SlackBlock {
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
function section(lines: string[]): SlackBlock {
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

const plain = (s: string, max: number) => slackText(s, max, { singleLine: true });

function alertsSummary(incident: Incident): string {
  const { firingCount, resolvedAlertCount } = incident;
  const counts = `${firingCount} firing, ${resolvedAlertCount} resolved`;
  return firingCount > 0 && resolvedAlertCount > 0 ? `${counts} — partially resolved` : counts;
}

function openedBlocks(incident: Incident): SlackBlock[] {
  const fields = [
    field('Severity', `${SEVERITY_EMOJI[incident.severity]} ${incident.severity}`),
    field('Service', plain(incident.service, 500)),
    field('Alert', plain(incident.alertname, 500)),
    field('Team', plain(incident.team || 'unassigned', 500)),
    field('Status', incident.status),
    field('Alerts', alertsSummary(incident)),
  ];
  if (incident.truncatedAlerts > 0) {
    fields.push(field('Truncated', `Alertmanager left out ${incident.truncatedAlerts} more alerts (max_alerts)`));
  }
  if (incident.previousIncidentId) {
    fields.push(field('Recurrence', `recurs after ${slackCode(incident.previousIncidentId, 300)}`));
  }

  const blocks: SlackBlock[] = [
    header(`${SEVERITY_EMOJI[incident.severity]} `, incident.title || incident.alertname),
    { type: 'section', fields: fields.slice(0, SLACK_LIMITS.sectionFields) },
  ];
  if (incident.alerts.length > 0) blocks.push(alertsBlock(incident.alerts));
  blocks.push({ type: 'divider' });

  const findings = [...incident.findings].sort(compareFindings);
  if (findings.length === 0) {
    blocks.push(section(['No rule found a likely cause; start from the alert runbook.']));
  }
  for (const [i, finding] of findings.slice(0, MAX_FINDINGS).entries()) blocks.push(findingBlock(finding, i + 1));
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
  blocks.push(contextBlock(incident, `opened ${plain(incident.openedAt, 64)}`));
  return blocks;
}

function alertsBlock(alerts: IncidentAlert[]): SlackBlock {
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

function findingBlock(finding: Finding, rank: number): SlackBlock {
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

function contextBlock(incident: Incident, when: string): SlackBlock {
  return {
    type: 'context',
    elements: [
      mrkdwn(truncateEscaped(`incident-pilot · incident ${slackCode(incident.id, 300)}`, SLACK_LIMITS.contextElement)),
      mrkdwn(truncateEscaped(when, SLACK_LIMITS.contextElement)),
    ],
  };
}

const RESOLUTION: Record<NonNullable<Incident['resolution']>, string> = {
  all_alerts_resolved: 'all alerts resolved',
  any_alert_resolved: 'an alert resolved',
  manual: 'resolved by hand',
};

/** "1h 5m", "12m", "40s": how long the incident was open. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m`;
}

function resolvedBlocks(incident: Incident): SlackBlock[] {
  const resolvedAt = incident.resolvedAt ?? incident.lastSeenAt;
  const openFor = formatDuration(Date.parse(resolvedAt) - Date.parse(incident.openedAt));
  const why = incident.resolution ? RESOLUTION[incident.resolution] : 'resolved';
  const line =
    `Incident ${slackCode(incident.id, 300)} on *${plain(incident.service, 500)}* is resolved (${why}) ` +
    `after ${Number.isNaN(Date.parse(resolvedAt)) ? 'an unknown time' : openFor}; ` +
    `${incident.alertCount} alert${incident.alertCount === 1 ? '' : 's'} seen.`;
  return [
    header('✅ Resolved: ', incident.title || incident.alertname),
    section([line]),
    contextBlock(incident, `opened ${plain(incident.openedAt, 64)} · resolved ${plain(resolvedAt, 64)}`),
  ];
}

/** What changed since the last update, then the incident as it is now. */
function updatedBlocks(event: IncidentEvent): SlackBlock[] {
  const changes = (event.changes ?? []).map((c) => `• ${plain(c.summary, 500)}`);
  const [head, fields, ...rest] = openedBlocks(event.incident);
  return [
    header('🔄 Update: ', event.incident.title || event.incident.alertname),
    section(['*What changed since the last update*', ...(changes.length ? changes : ['• (nothing material)'])]),
    ...(fields ? [fields] : []),
    ...rest.filter((b) => b !== head),
  ];
}

function fallbackText({ type, incident, revision }: IncidentEvent): string {
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
