import {
  IncidentPilotError,
  NotFoundError,
  PayloadTooLargeError,
  TransientError,
  UnauthorizedError,
  ValidationError,
} from '@incident-pilot/core';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isAuthorized } from './auth.js';
import { getRoot, type Root } from './composition.js';

/** Bodies above this are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface HttpRequest {
  event: APIGatewayProxyEventV2;
  root: Root;
  /** The parsed JSON body (undefined when there is none). */
  body: unknown;
  /** Receipt time, ISO. */
  receivedAt: string;
}

export const json = (statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The single place where errors become status codes. Unknown errors never leak their message. */
export function errorResponse(error: unknown, root?: Root): HttpResult {
  if (error instanceof ValidationError) {
    return json(400, { error: 'invalid_request', message: error.message, issues: error.issues });
  }
  if (error instanceof UnauthorizedError) return json(401, { error: 'unauthorized', message: error.message });
  if (error instanceof NotFoundError) return json(404, { error: 'not_found', message: error.message });
  if (error instanceof PayloadTooLargeError) return json(413, { error: 'payload_too_large', message: error.message });
  const transient = error instanceof TransientError || !(error instanceof IncidentPilotError);
  // Without a root (a bad environment at cold start) there is no logger yet: stderr it is.
  (root?.log ?? console).error('request failed', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
  });
  // Alertmanager retries 5xx: a fault on our side must never lose an alert, so it is always a 503.
  return {
    ...json(503, { error: 'unavailable', message: 'temporarily unavailable, retry later' }),
    headers: { 'content-type': 'application/json', 'retry-after': transient ? '1' : '5' },
  };
}

function readBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body is ${raw.byteLength} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new ValidationError([{ path: '', message: `body is not valid JSON (${(error as Error).message})` }], 'body');
  }
}

async function authenticate(event: APIGatewayProxyEventV2, root: Root): Promise<void> {
  const token = await root.token();
  if (token === null) return;
  if (!isAuthorized(event.headers?.authorization, token)) {
    throw new UnauthorizedError('missing or invalid credentials: send "Authorization: Bearer <token>" or basic auth');
  }
}

export interface RouteOptions {
  /** Skip authentication (only the health check). */
  open?: (event: APIGatewayProxyEventV2) => boolean;
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
  return middy(async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    let root: Root | undefined;
    try {
      root = rootOf();
      if (!options.open?.(event)) await authenticate(event, root);
      const body = readBody(event);
      return await route({ event, root, body, receivedAt: new Date(root.now()).toISOString() });
    } catch (error) {
      return errorResponse(error, root);
    }
  });
}
