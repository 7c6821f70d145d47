/**
 * The Slack sink in incoming-webhook mode: one Block Kit message per event, built from the incident
 * alone (the blocks are shared with the app mode: slack-blocks.ts).
 */
import { type Incident, type IncidentEvent, IncidentPilotError, type Sink, TransientError } from '@incident-pilot/core';
import { oneLine, SLACK_LIMITS, slackCode } from './escape.js';
import { isRedirect, NO_REDIRECTS, REDIRECT_PROBLEM } from './redirect.js';
import {
  alertsBlock,
  contextBlock,
  fallbackText,
  findingsBlocks,
  header,
  noteLines,
  plain,
  resolutionLine,
  SEVERITY_EMOJI,
  type SlackBlock,
  section,
  summaryFields,
} from './slack-blocks.js';

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
  /** Adds a link to the incident (`INCIDENT_PILOT_PUBLIC_URL`). */
  publicUrl?: string;
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

const ERROR_DETAIL_CHARS = 200;

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
  publicUrl,
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
      const body = JSON.stringify(buildSlackMessage(event, { publicUrl }));
      let response: Response;
      try {
        response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          ...NO_REDIRECTS,
        });
      } catch (error) {
        throw transportError(name, error, timeoutMs);
      }
      // Always drain the body so the connection is released; Slack's error body is a short code.
      const text = redact(oneLine(await response.text().catch(() => ''))).slice(0, ERROR_DETAIL_CHARS);
      const { status } = response;
      const detail = isRedirect(status) ? REDIRECT_PROBLEM : text;
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
export function buildSlackMessage(event: IncidentEvent, { publicUrl }: { publicUrl?: string } = {}): SlackMessage {
  const { incident } = event;
  const blocks =
    event.type === 'opened'
      ? openedBlocks(incident, publicUrl)
      : event.type === 'updated'
        ? updatedBlocks(event, publicUrl)
        : resolvedBlocks(incident, publicUrl);
  return {
    text: fallbackText(incident, event.type, event.revision),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
    unfurl_links: false,
    unfurl_media: false,
  };
}

function openedBlocks(incident: Incident, publicUrl?: string): SlackBlock[] {
  const blocks: SlackBlock[] = [
    header(`${SEVERITY_EMOJI[incident.severity]} `, incident.title || incident.alertname),
    summaryFields(incident),
  ];
  if (incident.alerts.length > 0) blocks.push(alertsBlock(incident.alerts));
  blocks.push({ type: 'divider' }, ...findingsBlocks(incident));
  blocks.push(contextBlock(incident, `opened ${plain(incident.openedAt, 64)}`, publicUrl));
  return blocks;
}

/** What changed since the last update, then the incident as it is now. */
function updatedBlocks(event: IncidentEvent, publicUrl?: string): SlackBlock[] {
  const changes = (event.changes ?? []).map((c) => `• ${plain(c.summary, 500)}`);
  const [, ...rest] = openedBlocks(event.incident, publicUrl);
  return [
    header('🔄 Update: ', event.incident.title || event.incident.alertname),
    section(['*What changed since the last update*', ...(changes.length ? changes : ['• (nothing material)'])]),
    ...rest,
  ];
}

function resolvedBlocks(incident: Incident, publicUrl?: string): SlackBlock[] {
  const resolvedAt = incident.resolvedAt ?? incident.lastSeenAt;
  const line =
    `Incident ${slackCode(incident.id, 300)} on *${plain(incident.service, 500)}* is ${resolutionLine(incident)}; ` +
    `${incident.alertCount} alert${incident.alertCount === 1 ? '' : 's'} seen.`;
  return [
    header('✅ Resolved: ', incident.title || incident.alertname),
    section([line, ...noteLines(incident)]),
    contextBlock(incident, `opened ${plain(incident.openedAt, 64)} · resolved ${plain(resolvedAt, 64)}`, publicUrl),
  ];
}
