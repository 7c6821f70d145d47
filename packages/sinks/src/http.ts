/**
 * The one way the paging sinks (PagerDuty, Opsgenie, signed webhook) talk HTTP: a JSON POST with a
 * timeout, a couple of quick in-call retries for throttling, 5xx and dropped connections, then a
 * TransientError carrying the server's `Retry-After` for the job queue. Nothing here ever puts the URL,
 * a header or a key into an error message: fetch's own messages can quote the URL, so only error names
 * and codes are kept.
 */
import { type Incident, IncidentPilotError, PermanentSinkError, TransientError } from '@incident-pilot/core';
import { oneLine } from './escape.js';
import { isRedirect, NO_REDIRECTS, REDIRECT_PROBLEM } from './redirect.js';
import { DEFAULT_RETRY_AFTER_SECONDS, parseRetryAfter } from './slack.js';

/** What every paging sink takes besides its key and URL. */
export interface PagingSinkOptions {
  /** Base URL of the incident-pilot API, for a link to the incident; empty: no link. */
  apiUrl?: string;
  fetch?: typeof globalThis.fetch;
  name?: string;
  timeoutMs?: number;
  /** Attempts within one delivery for 429/5xx/connection errors. */
  attempts?: number;
  backoffMs?: number;
}

export interface PostOptions {
  /** The sink's name, for messages. */
  sink: string;
  url: string;
  /** Default POST. */
  method?: 'POST' | 'PUT';
  /** Called per attempt, so a signature can carry a fresh timestamp. */
  headers: () => Record<string, string>;
  body: string;
  fetch: typeof globalThis.fetch;
  /** Per attempt; a timeout is not retried in-call (the worker's time is shared by every sink). */
  timeoutMs: number;
  /** Attempts within one call (≥ 1). */
  attempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  backoffMs: number;
  /** Strings to blank out of any response text that is quoted (keys the server might echo). */
  secrets?: string[];
}

export interface PostAnswer {
  status: number;
  /** The response body, one line, at most 300 characters, secrets blanked. */
  detail: string;
  /** The response body as received, secrets blanked (for parsing: its messages end up in errors). */
  text: string;
}

/** A wait longer than this is left to the queue rather than spent inside the worker. */
const MAX_IN_CALL_WAIT_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const retryable = (status: number) => status === 429 || status === 408 || status >= 500;

/**
 * POSTs `body` and returns the first answer that is not worth retrying (2xx or a permanent 4xx).
 * Throws TransientError after the last retryable failure (with `retryAfterSeconds` when the server
 * sent `Retry-After`), or at once on a timeout.
 */
export async function postJson(options: PostOptions): Promise<PostAnswer> {
  const { sink, attempts } = options;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= attempts;
    const wait = options.backoffMs * 2 ** (attempt - 1);
    let response: Response;
    try {
      response = await options.fetch(options.url, {
        method: options.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...options.headers() },
        body: options.body,
        signal: AbortSignal.timeout(options.timeoutMs),
        ...NO_REDIRECTS,
      });
    } catch (error) {
      const failure = transportError(sink, error, options.timeoutMs);
      if (last || failure.timedOut) throw failure.error;
      await sleep(wait);
      continue;
    }
    // Always drain the body so the connection is released.
    const text = redact(await response.text().catch(() => ''), options.secrets);
    const answer = { status: response.status, text, detail: oneLine(text).slice(0, 300) };
    if (!retryable(answer.status)) return answer;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    const delayMs = Math.max(wait, (retryAfter ?? 0) * 1000);
    if (last || delayMs > MAX_IN_CALL_WAIT_MS) {
      const what = `${sink} sink: answered ${answer.status}${answer.detail ? ` (${answer.detail})` : ''}`;
      // PagerDuty's and Opsgenie's 429s carry no Retry-After: wait as for Slack's, so that a throttle
      // defers the job instead of using up the receives that park it in the dead-letter queue.
      const after = retryAfter ?? (answer.status === 429 ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
      throw new TransientError(after === undefined ? what : `${what}; retry after ${after}s`, after);
    }
    await sleep(delayMs);
  }
}

/** Refuses a URL that is not http(s), without echoing it (it may carry a token). */
export function requireHttpUrl(sink: string, url: string): void {
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw new IncidentPilotError(`${sink} sink: the URL is not a valid http(s) URL`);
  }
}

/** Throws PermanentSinkError for a non-2xx answer, naming the status and `problem`. */
export function requireSuccess(sink: string, answer: PostAnswer, problem = answer.detail): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const reason = isRedirect(answer.status) ? REDIRECT_PROBLEM : problem;
  throw new PermanentSinkError(
    `${sink} sink: answered ${answer.status}${reason ? ` (${reason})` : ''}`,
    sink,
    answer.status,
  );
}

/** Parses a JSON answer body, or returns undefined. */
export function jsonOf(answer: PostAnswer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(answer.text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

function transportError(sink: string, error: unknown, timeoutMs: number): { error: TransientError; timedOut: boolean } {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    // Ambiguous: the API may have acted on it, so the worker keeps the claim until its lease ends.
    const error = new TransientError(`${sink} sink: no answer within ${timeoutMs}ms`, undefined, true);
    return { error, timedOut: true };
  }
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  const code = [cause?.code, cause?.name, name].find((c) => typeof c === 'string' && /^[\w.-]{1,40}$/.test(c));
  return { error: new TransientError(`${sink} sink: network error${code ? ` (${code})` : ''}`), timedOut: false };
}

/** A plain-text value cut to `max` characters (ending in `…`), never splitting a surrogate pair. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = Math.max(0, max - 1);
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${s.slice(0, cut)}…`;
}

/** A secret value that is one token (letters, digits, `-`, `_`, `.`): anything else is a placeholder. */
export function isUsableKey(value: string): boolean {
  return /^[\w.-]+$/.test(value);
}

/** A link to the incident in incident-pilot's API, when its base URL is known. */
export function incidentLinks(incident: Incident, apiUrl = ''): { href: string; text: string }[] {
  if (!apiUrl) return [];
  const href = `${apiUrl.replace(/\/+$/, '')}/api/incidents/${encodeURIComponent(incident.id)}`;
  return [{ href, text: `incident-pilot incident ${incident.id}` }];
}
