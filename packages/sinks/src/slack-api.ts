/**
 * A minimal Slack Web API client: JSON POSTs with the bot token, and Slack's errors sorted by what to
 * do about them. Retry later: HTTP 429 / `ratelimited` / `rate_limited` (after `Retry-After`), 5xx,
 * network errors and timeouts (TransientError). Anything else is a {@link SlackApiError}, whose message
 * names the problem and the fix; the token never appears in an error.
 */
import { IncidentPilotError, TransientError } from '@incident-pilot/core';
import { oneLine } from './escape.js';
import { isRedirect, NO_REDIRECTS, REDIRECT_PROBLEM } from './redirect.js';
import { DEFAULT_RETRY_AFTER_SECONDS, parseRetryAfter } from './slack.js';

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';

/** What an operator must fix, by Slack error code; these fail the job loudly (DLQ, alarm). */
const FIXES: Record<string, string> = {
  channel_not_found:
    'the channel does not exist, or is private and the bot is not in it: check INCIDENT_PILOT_SLACK_CHANNEL and slack.channels',
  not_in_channel: 'the bot is not a member of the channel: invite the app to it (/invite @incident-pilot)',
  is_archived: 'the channel is archived: route the incidents to another channel',
  invalid_auth: 'the bot token is not valid: check INCIDENT_PILOT_SLACK_BOT_TOKEN (or the bot-token secret)',
  not_authed: 'no bot token was sent: set INCIDENT_PILOT_SLACK_BOT_TOKEN (or the bot-token secret)',
  token_revoked: 'the bot token was revoked (the app was uninstalled?): reinstall the app and store its new token',
  token_expired: 'the bot token expired: reinstall the app and store its new token',
  account_inactive: 'the bot token belongs to a deactivated user or workspace: reinstall the app',
  missing_scope: 'the app lacks a scope: add chat:write (see the app manifest) and reinstall it',
};

/** Slack answered `ok: false` with an error that retrying will not fix. */
export class SlackApiError extends IncidentPilotError {
  override name = 'SlackApiError';
  constructor(
    readonly method: string,
    /** Slack's error code, e.g. `channel_not_found`. */
    readonly code: string,
    fix = FIXES[code],
  ) {
    super(`Slack ${method} failed: ${code}${fix ? ` — ${fix}` : ''}`);
  }
}

/** The fields of Slack's answers that incident-pilot reads. */
export interface SlackResponse {
  ok: boolean;
  error?: string;
  channel?: string;
  ts?: string;
  view?: { id?: string };
}

export interface SlackApi {
  /** Calls `method` (e.g. `chat.postMessage`) with a JSON body; resolves only when Slack says `ok`. */
  call(method: string, body: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<SlackResponse>;
}

export interface SlackApiOptions {
  /** The bot token (`xoxb-…`), or a function reading it (from Secrets Manager, cached). */
  token: string | (() => Promise<string>);
  /** Default `https://slack.com/api`; tests and proxies point it elsewhere. */
  apiUrl?: string;
  fetch?: typeof globalThis.fetch;
  /** Per-call timeout; a timeout is transient. */
  timeoutMs?: number;
}

export function createSlackApi({
  token,
  apiUrl = DEFAULT_SLACK_API_URL,
  fetch = globalThis.fetch,
  timeoutMs = 5000,
}: SlackApiOptions): SlackApi {
  const base = apiUrl.replace(/\/+$/, '');
  return {
    async call(method, body, options = {}) {
      const timeout = options.timeoutMs ?? timeoutMs;
      const bearer = typeof token === 'string' ? token : await token();
      let response: Response;
      try {
        response = await fetch(`${base}/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${bearer}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeout),
          ...NO_REDIRECTS,
        });
      } catch (error) {
        const name = (error as { name?: unknown } | null)?.name;
        // A timeout is ambiguous: Slack may have posted. The worker then keeps its claim until the lease
        // ends, and the recorded message ref turns a later retry into an edit.
        if (name === 'TimeoutError' || name === 'AbortError') {
          throw new TransientError(`Slack ${method}: no answer within ${timeout}ms`, undefined, true);
        }
        throw new TransientError(`Slack ${method}: network error`);
      }
      const text = await response.text().catch(() => '');
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 429) {
        const seconds = retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
        throw new TransientError(`Slack ${method}: rate limited (429); retry after ${seconds}s`, seconds);
      }
      if (response.status >= 500 || response.status === 408) {
        throw new TransientError(`Slack ${method}: HTTP ${response.status}`, retryAfter);
      }
      if (isRedirect(response.status)) throw new SlackApiError(method, `http_${response.status}`, REDIRECT_PROBLEM);
      let answer: SlackResponse;
      try {
        answer = JSON.parse(text) as SlackResponse;
      } catch {
        throw new TransientError(`Slack ${method}: HTTP ${response.status}, not a Slack API answer`);
      }
      if (answer.ok === true) return answer;
      const code = oneLine(String(answer.error ?? `http_${response.status}`)).slice(0, 80);
      // `rate_limited`: chat.postMessage's other code for "Application has posted too many messages".
      if (code === 'ratelimited' || code === 'rate_limited') {
        const seconds = retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
        throw new TransientError(`Slack ${method}: ratelimited; retry after ${seconds}s`, seconds);
      }
      if (code === 'internal_error' || code === 'service_unavailable' || code === 'fatal_error') {
        throw new TransientError(`Slack ${method}: ${code}`);
      }
      throw new SlackApiError(method, code);
    },
  };
}

/**
 * Keeps posts to one channel about a second apart on average (Slack's guidance for chat.postMessage),
 * per process, letting a short burst through at once: Slack allows one, and a worker pays for every
 * second it waits (ten incidents opening together would otherwise hold it for nine). A wait longer than
 * `maxWaitMs` is not slept through: it becomes a TransientError with a Retry-After, so a storm is
 * spread over queue retries instead of holding a worker. A burst Slack refuses after all is retried
 * the same way, after its Retry-After.
 */
export function createChannelPacer({
  intervalMs = 1000,
  burst = 5,
  maxWaitMs = 5000,
  now = Date.now,
}: {
  intervalMs?: number;
  /** Posts let through at once before the spacing starts (1: none). */
  burst?: number;
  maxWaitMs?: number;
  now?: () => number;
} = {}) {
  /** Per channel, when its next post would be due if posts were evenly spaced. */
  const due = new Map<string, number>();
  /** Resolves when the channel's turn comes, with how long it waited (ms). */
  return async function pace(channel: string): Promise<number> {
    const at = now();
    const slot = Math.max(at, due.get(channel) ?? 0);
    const wait = Math.max(0, slot - at - (burst - 1) * intervalMs);
    if (wait > maxWaitMs) {
      throw new TransientError(`Slack: channel ${channel} is busy; retry later`, Math.ceil(wait / 1000));
    }
    due.set(channel, slot + intervalMs);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return wait;
  };
}
export type ChannelPacer = ReturnType<typeof createChannelPacer>;
