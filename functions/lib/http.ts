import {
  ConflictError,
  clipText,
  type Logger,
  NotFoundError,
  PayloadTooLargeError,
  TransientError,
  UnauthorizedError,
  UnprocessableError,
  ValidationError,
} from '@incident-pilot/core';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { isAuthorized } from './auth.js';
import { getRoot, type Root } from './composition.js';
import { withKeys } from './logger.js';
import { METRIC } from './metrics.js';

/** Bodies above this are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface HttpRequest {
  event: APIGatewayProxyEventV2;
  root: Root;
  /** The parsed JSON body (undefined when there is none); with the `raw` option, the bytes as sent. */
  body: unknown;
  /** Receipt time, ISO. */
  receivedAt: string;
  /** Carries the request's correlation keys on every line. */
  log: Logger;
  /** Adds fields (counts, ids — never a body or a secret) to the request's log line. */
  note(fields: Record<string, unknown>): void;
}

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** The `error` code of each status the API answers with (the documented error shape). */
export const ERROR_CODES = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  422: 'unprocessable',
  500: 'internal_error',
  503: 'unavailable',
} as const;

/** Longest `message` of an error body: it may quote a caller's value (an id, a path). */
const MAX_MESSAGE = 500;

/**
 * The single place where errors become status codes. A caller's mistake is a 4xx; a transient fault
 * is a 503 with `Retry-After` (Alertmanager retries 5xx); valid input the store refuses as it is is a
 * final 422; anything unclassified is a bug: a 500 whose body says nothing about it.
 */
export function errorResponse(error: unknown, root?: Root, requestId?: string): HttpResult {
  const answer = (status: number, code: string, message: string, extra: object = {}) =>
    json(status, { error: code, message: clipText(message, MAX_MESSAGE), ...extra });
  if (error instanceof ValidationError) {
    return answer(400, 'invalid_request', error.message, {
      issues: error.issues,
      ...(error.moreIssues ? { moreIssues: error.moreIssues } : {}),
    });
  }
  if (error instanceof UnauthorizedError) return answer(401, 'unauthorized', error.message);
  if (error instanceof NotFoundError) return answer(404, 'not_found', error.message);
  if (error instanceof PayloadTooLargeError) return answer(413, 'payload_too_large', error.message);
  // Without a root (a bad environment at cold start) there is no logger yet: stderr it is.
  (root?.log ?? console).error('request failed', {
    requestId,
    error: error instanceof Error ? `${error.name}: ${clipText(error.message, MAX_MESSAGE)}` : 'unknown',
  });
  if (error instanceof UnprocessableError) {
    return answer(422, 'unprocessable', 'the request is valid but cannot be stored as it is; it was not accepted');
  }
  // A lost write race is transient too: the retry re-reads.
  if (error instanceof TransientError || error instanceof ConflictError) {
    const retryAfter = error instanceof TransientError ? (error.retryAfterSeconds ?? 1) : 1;
    return {
      ...answer(503, 'unavailable', 'temporarily unavailable, retry later'),
      headers: { 'content-type': 'application/json', 'retry-after': String(retryAfter) },
    };
  }
  return answer(500, 'internal_error', `internal error${requestId ? ` (request ${requestId})` : ''}`);
}

// Lone UTF-16 surrogates, which JSON escapes (`"\ud800"`) can produce but no UTF-8 store or API can carry.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Replaces lone surrogates in every key and string with U+FFFD, as Go's JSON encoder does, walking
 * iteratively (a body may nest deeper than the call stack).
 */
function wellFormed(value: unknown): unknown {
  const fix = (s: string) => s.replace(LONE_SURROGATE, '\ufffd');
  if (typeof value === 'string') return fix(value);
  const stack = [value];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (typeof node !== 'object' || node === null) continue;
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      const fixed = typeof child === 'string' ? fix(child) : child;
      const name = Array.isArray(node) ? key : fix(key);
      if (name !== key) delete record[key];
      record[name] = fixed;
      if (typeof fixed === 'object' && fixed !== null) stack.push(fixed);
    }
  }
  return value;
}

/** The body's bytes exactly as the client sent them (API Gateway base64-encodes non-text types). */
export function rawBody(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body is ${raw.byteLength} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  return raw;
}

function readBody(event: APIGatewayProxyEventV2): unknown {
  const raw = rawBody(event);
  if (raw.byteLength === 0) return undefined;
  // A leading byte order mark (JSON files saved by Windows tools) is not part of the JSON text (RFC 8259 §8.1).
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ path: '', message: `body is not valid JSON (${(error as Error).message})` }], 'body');
  }
  return SURROGATE_ESCAPE.test(text) ? wellFormed(body) : body;
}

async function authenticate(event: APIGatewayProxyEventV2, root: Root): Promise<void> {
  const token = await root.token();
  if (token === null) return;
  if (!isAuthorized(event.headers?.authorization, token)) {
    throw new UnauthorizedError('missing or invalid credentials: send "Authorization: Bearer <token>" or basic auth');
  }
}

export interface RouteOptions {
  /** Skip the bearer token (the health check; Slack's requests, which the route checks itself). */
  open?: (event: APIGatewayProxyEventV2) => boolean;
  /** Pass the body as raw bytes instead of parsing JSON (for signature checks over the exact bytes). */
  raw?: boolean;
}

/**
 * Wraps a route: authenticate, size-check and parse the body, call the route, map errors. The
 * route itself only calls the core and shapes the result.
 */
export function httpHandler(
  route: (req: HttpRequest) => Promise<HttpResult>,
  options: RouteOptions = {},
  rootOf: () => Root = getRoot,
) {
  return middy(async (event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResult> => {
    const started = performance.now();
    let root: Root | undefined;
    let log: Logger | undefined;
    let result: HttpResult;
    const notes: Record<string, unknown> = {};
    try {
      root = rootOf();
      log = requestLogger(root.log, event, context);
      if (!options.open?.(event)) await authenticate(event, root);
      const body = options.raw ? rawBody(event) : readBody(event);
      const receivedAt = new Date(root.now()).toISOString();
      result = await route({ event, root, body, receivedAt, log, note: (f) => Object.assign(notes, f) });
    } catch (error) {
      result = errorResponse(error, root, event.requestContext?.requestId);
    }
    if (root && log) {
      const status = result.statusCode ?? 200;
      const error = status >= 400 ? (ERROR_CODES[status as keyof typeof ERROR_CODES] ?? String(status)) : undefined;
      if (event.routeKey === 'POST /alerts' && error) root.metrics.count(METRIC.alertsRejected, 1, { reason: error });
      log.info('request', {
        route: event.routeKey,
        status,
        ...(error ? { error } : {}),
        latencyMs: Math.round(performance.now() - started),
        ...notes,
      });
      root.metrics.flush();
    }
    return result;
  });
}

/** Correlation keys of one request: API Gateway's request id (also the correlation id) and Lambda's. */
function requestLogger(log: Logger, event: APIGatewayProxyEventV2, context?: Context): Logger {
  const requestId = event.requestContext?.requestId;
  return withKeys(log, {
    requestId,
    correlation_id: requestId,
    ...(context?.awsRequestId ? { function_request_id: context.awsRequestId } : {}),
  });
}
