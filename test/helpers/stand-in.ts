/**
 * The common part of the API stand-ins (PagerDuty, Opsgenie, webhook receiver): an HTTP server on
 * 127.0.0.1 that records every request, answers through the API's own handler, and on demand fails,
 * throttles, is slow, or drops the connection — once (`fail`) or until told otherwise (`failAlways`).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body, as received. */
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, asserted by the tests
  json(): any;
}

export interface StandInAnswer {
  status: number;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A fault for one request. With a `status`, the API's own error body for it is sent (unless `body` is
 * given) and the request is not processed; with only `delayMs`, the request is processed late; `drop`
 * closes the connection without an answer.
 */
export interface Fault {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  drop?: boolean;
}

export interface StandIn {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Every request, in arrival order (faulted ones included). */
  requests: StandInRequest[];
  /** Faults for the next requests, one each, in order. */
  fail(...faults: Fault[]): void;
  /** A fault for every request from now on (`undefined`: back to normal). */
  failAlways(fault: Fault | undefined): void;
  /** Resolves once at least `count` requests have arrived (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<StandInRequest[]>;
  close(): Promise<void>;
}

export interface StandInApi {
  /** Answers a request the API way (validation, state). */
  handle(request: StandInRequest): StandInAnswer;
  /** The API's error body for a faulted status. */
  errorBody(status: number): unknown;
}

export async function startStandIn(api: StandInApi): Promise<StandIn> {
  const faults: Fault[] = [];
  let always: Fault | undefined;
  const requests: StandInRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: StandInRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: () => JSON.parse(body),
      };
      requests.push(request);
      for (const wake of waiters) wake();

      const fault = faults.shift() ?? always;
      const answer = () => {
        if (res.destroyed) return;
        if (fault?.drop) return void res.socket?.destroy();
        const out: StandInAnswer =
          fault?.status !== undefined
            ? { status: fault.status, body: fault.body ?? api.errorBody(fault.status), headers: fault.headers }
            : api.handle(request);
        res.writeHead(out.status, { 'content-type': 'application/json', ...out.headers });
        res.end(out.body === undefined ? '' : JSON.stringify(out.body));
      };
      if (!fault?.delayMs) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, fault.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    fail: (...next) => {
      faults.push(...next);
    },
    failAlways: (fault) => {
      always = fault;
    },
    waitForRequests(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          cleanup();
          resolve(requests);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`stand-in: ${requests.length} of ${count} requests after ${timeoutMs}ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
