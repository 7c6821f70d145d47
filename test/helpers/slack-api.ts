/**
 * A Slack Web API stand-in on 127.0.0.1: checks the bearer token and answers `chat.postMessage`,
 * `chat.update` and `views.open` in Slack's real response shapes (`ok`, `channel`, `ts`, `error`),
 * keeping the messages it was sent so tests can read the channel as people would see it. Faults on
 * demand: an `ok: false` error, HTTP 429 with `Retry-After`, a 5xx, or a slow answer.
 *
 * ```ts
 * const slack = await startSlackApi({ token: 'xoxb-test' });
 * slack.failNext('chat.postMessage', { error: 'channel_not_found' });
 * slack.failNext('chat.update', { status: 429, retryAfter: 1 });
 * // INCIDENT_PILOT_SLACK_API_URL = slack.url
 * ```
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  /** The JSON (or form) body, parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, asserted by the tests
  body: any;
  authorization: string | undefined;
  /** Arrival time, epoch ms. */
  at: number;
  /** What the stand-in answered: `ok` or the error / HTTP status. */
  outcome: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit blocks, asserted by the tests
  blocks: any[];
  /** How many times chat.update edited it. */
  edits: number;
}

export interface Fault {
  /** An `ok: false` answer (HTTP 200) with this error, e.g. `channel_not_found`, `ratelimited`. */
  error?: string;
  /** An HTTP status instead (429, 500…). */
  status?: number;
  /** `Retry-After` seconds (with 429 or `ratelimited`). */
  retryAfter?: number;
  /** Answer after this long (with or without a fault: `{ delayMs }` alone is a slow success). */
  delayMs?: number;
}

export interface SlackApiStandIn {
  /** The base URL to use as `INCIDENT_PILOT_SLACK_API_URL`. */
  url: string;
  calls: SlackCall[];
  /** Every message, top-level and thread replies, in posting order, with its latest content. */
  messages: StoredMessage[];
  /** Top-level messages (no `thread_ts`). */
  posts(): StoredMessage[];
  /** Replies in the thread of `ts`. */
  replies(ts: string): StoredMessage[];
  /** Makes the next call of `method` (or the next `count`) fail or slow down. */
  failNext(method: string, fault: Fault, count?: number): void;
  /** Resolves once `probe` holds (polling every 50 ms), rejecting after `timeoutMs`. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export interface SlackApiOptions {
  /** The bot token it accepts. */
  token: string;
  /** When given, any other channel is `channel_not_found`. */
  channels?: string[];
}

export async function startSlackApi({ token, channels }: SlackApiOptions): Promise<SlackApiStandIn> {
  const calls: SlackCall[] = [];
  const messages: StoredMessage[] = [];
  const faults = new Map<string, Fault[]>();
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').split('?')[0]?.split('/').pop() ?? '';
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = /json/.test(req.headers['content-type'] ?? '')
          ? JSON.parse(text)
          : Object.fromEntries(new URLSearchParams(text));
      } catch {}
      const call: SlackCall = { method, body, authorization: req.headers.authorization, at: Date.now(), outcome: '' };
      calls.push(call);

      const reply = (status: number, answer: object, headers: Record<string, string> = {}) => {
        call.outcome = status === 200 ? String((answer as { error?: string }).error ?? 'ok') : `http_${status}`;
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
          res.end(JSON.stringify(answer));
        };
        if (!fault?.delayMs) return send();
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, fault.delayMs);
        timers.add(timer);
      };

      const fault = faults.get(method)?.shift();
      if (fault?.status) {
        return reply(fault.status, fault.status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false }, {
          ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
        });
      }
      if (fault?.error) {
        const headers: Record<string, string> =
          fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
        return reply(200, { ok: false, error: fault.error }, headers);
      }
      const auth = req.headers.authorization;
      if (!auth) return reply(200, { ok: false, error: 'not_authed' });
      if (auth !== `Bearer ${token}`) return reply(200, { ok: false, error: 'invalid_auth' });

      const channel = String(body.channel ?? '');
      switch (method) {
        case 'chat.postMessage': {
          if (!channel || (channels && !channels.includes(channel)))
            return reply(200, { ok: false, error: 'channel_not_found' });
          seq += 1;
          const ts = `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`;
          const message: StoredMessage = {
            channel,
            ts,
            ...(body.thread_ts ? { thread_ts: String(body.thread_ts) } : {}),
            text: String(body.text ?? ''),
            blocks: (body.blocks as unknown[]) ?? [],
            edits: 0,
          };
          messages.push(message);
          return reply(200, {
            ok: true,
            channel,
            ts,
            message: { type: 'message', text: message.text, ts, blocks: message.blocks, bot_id: 'B0STANDIN' },
          });
        }
        case 'chat.update': {
          const message = messages.find((m) => m.channel === channel && m.ts === body.ts);
          if (!message) return reply(200, { ok: false, error: 'message_not_found' });
          message.text = String(body.text ?? '');
          message.blocks = (body.blocks as unknown[]) ?? [];
          message.edits += 1;
          return reply(200, { ok: true, channel, ts: message.ts, text: message.text });
        }
        case 'views.open':
          if (!body.trigger_id) return reply(200, { ok: false, error: 'invalid_arguments' });
          seq += 1;
          return reply(200, { ok: true, view: { id: `V${String(seq).padStart(8, '0')}` } });
        default:
          return reply(200, { ok: false, error: 'unknown_method' });
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api`,
    calls,
    messages,
    posts: () => messages.filter((m) => !m.thread_ts),
    replies: (ts) => messages.filter((m) => m.thread_ts === ts),
    failNext(method, fault, count = 1) {
      const queue = faults.get(method) ?? [];
      for (let i = 0; i < count; i++) queue.push(fault);
      faults.set(method, queue);
    },
    async waitFor(probe, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`Slack stand-in: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Every text a message shows (blocks' text, fields, context elements, button labels), joined. */
export function visibleText(message: Pick<StoredMessage, 'blocks' | 'text'>): string {
  const out: string[] = [message.text];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'text' && typeof v === 'string') out.push(v);
        else walk(v);
      }
    }
  };
  walk(message.blocks);
  return out.join('\n');
}

/** The buttons of a message: action_id → value. */
export function buttonsOf(message: Pick<StoredMessage, 'blocks'>): Map<string, string> {
  const buttons = new Map<string, string>();
  for (const block of message.blocks) {
    if (block.type !== 'actions') continue;
    for (const element of block.elements ?? []) buttons.set(element.action_id, element.value);
  }
  return buttons;
}
