import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { listen } from './emulators.js';

export interface LocalRoute {
  method: string;
  path: string;
  invoke: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
}

/** API Gateway's own limit for HTTP API payloads; the handlers enforce the product's 1 MB limit. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

function match(template: string, path: string): Record<string, string> | null {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const value = got[i] ?? '';
    if (part.startsWith('{') && part.endsWith('}')) {
      if (!value) return null;
      params[part.slice(1, -1)] = value;
    } else if (part !== value) return null;
  }
  return params;
}

export function lambdaContext(functionName: string): Context {
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Builds the event API Gateway (HTTP API, payload format 2.0) would send for this request. */
export function toEvent(req: IncomingMessage, body: Buffer, routeKey: string, params: Record<string, string>) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] ? `${query[k]},${v}` : v;
  // Like API Gateway's HTTP API: JSON and text/* arrive as text, anything else (form posts from Slack
  // included) base64-encoded.
  const isText = /json|text\//.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: !isText,
    ...(body.byteLength ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
  };
  return event;
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2) {
  const headers = { 'content-type': 'application/json', ...(result.headers as Record<string, string>) };
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body ?? '');
}

/**
 * A local stand-in for API Gateway: matches the route, builds a payload-v2 event and calls the same
 * handler function that is deployed. A request no route matches goes to `fallback` as the `$default`
 * route, as the stack wires it.
 */
export async function startHttpServer(
  routes: LocalRoute[],
  fallback: LocalRoute['invoke'],
  port: number,
  host = '127.0.0.1',
): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.byteLength;
        if (size > GATEWAY_MAX_BYTES) tooLarge = true;
        else chunks.push(chunk);
      }
    } catch {
      // The client hung up before its body was complete: nobody to answer, and no request to run (an
      // unhandled rejection here would stop the whole stack).
      res.destroy();
      return;
    }
    if (tooLarge) return send(res, { statusCode: 413, body: '{"message":"Request Entity Too Large"}' });
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const candidates = routes.map((r) => ({ route: r, params: match(r.path, path) })).filter((c) => c.params);
    const hit = candidates.find((c) => c.route.method === req.method);
    const routeKey = hit ? `${hit.route.method} ${hit.route.path}` : '$default';
    const params = hit?.params ?? {};
    try {
      for (const [name, value] of Object.entries(params)) params[name] = decodeURIComponent(value);
    } catch {
      // API Gateway refuses a path it cannot decode before any function sees it.
      return send(res, { statusCode: 400, body: '{"message":"Bad Request"}' });
    }
    try {
      const event = toEvent(req, Buffer.concat(chunks), routeKey, params);
      send(res, await (hit?.route.invoke ?? fallback)(event, lambdaContext(routeKey)));
    } catch {
      // A handler that throws is what API Gateway reports as a 500 Internal Server Error.
      send(res, { statusCode: 500, body: '{"message":"Internal Server Error"}' });
    }
  });
  await listen(server, port, host, 'HTTP API', 'PORT');
  return server;
}

export const portOf = (server: Server) => (server.address() as AddressInfo).port;
