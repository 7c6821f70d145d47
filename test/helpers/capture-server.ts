/**
 * A tiny HTTP server on 127.0.0.1 that records every request as raw bytes and answers from a
 * programmable queue: a fake Slack webhook or LLM provider for tests.
 *
 * ```ts
 * const server = await startCaptureServer();
 * server.respondWith({ status: 429, headers: { 'retry-after': '7' } }); // then the default 200 "ok"
 * await sink.deliver(event); // POST to server.url
 * expect(server.requests[0]?.json()).toMatchObject({ unfurl_links: false });
 * await server.close();
 * ```
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Lower-cased header names, as Node parses them. */
  headers: IncomingHttpHeaders;
  /** Header names and values exactly as received, alternating. */
  rawHeaders: string[];
  /** The body exactly as received. */
  body: Buffer;
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON (throws if it is not JSON). */
  json(): unknown;
}

export interface CannedResponse {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string or bytes as is; anything else is sent as JSON. Default: `ok` (what Slack answers). */
  body?: string | Buffer | object;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
}

export interface CaptureServer {
  /** `http://127.0.0.1:<port>`; any path is accepted. */
  url: string;
  /** Every request received, in arrival order. */
  requests: CapturedRequest[];
  /** Queues responses, used one per request in order; when the queue is empty the default answers. */
  respondWith(...responses: CannedResponse[]): void;
  /** Resolves once at least `count` requests have arrived (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<CapturedRequest[]>;
  /** Stops listening and drops open connections (including delayed answers). */
  close(): Promise<void>;
}

/** Starts a capture server on a random port of 127.0.0.1. */
export async function startCaptureServer(options: { defaultResponse?: CannedResponse } = {}): Promise<CaptureServer> {
  const defaultResponse = options.defaultResponse ?? { status: 200, body: 'ok' };
  const queue: CannedResponse[] = [];
  const requests: CapturedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        text: () => body.toString('utf8'),
        json: () => JSON.parse(body.toString('utf8')),
      });
      for (const wake of waiters) wake();

      const canned = queue.shift() ?? defaultResponse;
      const answer = () => {
        if (res.destroyed) return;
        const isRaw = typeof canned.body === 'string' || Buffer.isBuffer(canned.body);
        const payload = canned.body === undefined ? 'ok' : isRaw ? canned.body : JSON.stringify(canned.body);
        const type = isRaw || canned.body === undefined ? 'text/plain; charset=utf-8' : 'application/json';
        res.writeHead(canned.status ?? 200, { 'content-type': type, ...canned.headers });
        res.end(payload);
      };
      if (!canned.delayMs) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, canned.delayMs);
      timers.add(timer);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith: (...responses) => {
      queue.push(...responses);
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
          reject(new Error(`capture server: ${requests.length} of ${count} requests after ${timeoutMs}ms`));
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

/** The Slack messages received, as `opened`/`updated`/`resolved` with the incident id they name. */
export function slackMessages(
  slack: CaptureServer,
): { type: 'opened' | 'updated' | 'resolved'; incidentId: string | undefined }[] {
  return slack.requests.map((r) => {
    const { text } = r.json() as { text: string };
    return {
      type: text.startsWith('Resolved:') ? 'resolved' : text.startsWith('Update') ? 'updated' : 'opened',
      incidentId: /inc-[0-9a-f]{12}/.exec(text)?.[0],
    };
  });
}
