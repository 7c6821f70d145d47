/**
 * Fuzzing the HTTP API of the local stack: whatever arrives on a POST route, the answer is a 2xx or a
 * well-formed 4xx (JSON, and a 400 names real fields), never a 5xx, a hang or a dropped connection;
 * whatever an alert or its context carries, the Slack message shows it escaped, never executed.
 *
 * One stack (token + fake Slack) serves the whole file; `numRuns` are bounded so the file stays in
 * the tens of seconds on 2 cores. A failure prints fast-check's seed and the shrunk counterexample.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  bareAlertSchema,
  contextSchemas,
  MAX_CONTEXT_BATCH,
  MAX_GROUPS_PER_REQUEST,
  webhookAlertSchema,
  webhookSchema,
} from '@incident-pilot/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

type Json = fc.JsonValue;
type Segment = string | number;

const TOKEN = 'fuzz-token-5d1c';
const EPOCH = '2026-11-25T03:00:00Z';
const MAX_BODY_BYTES = 1024 * 1024;
/** The largest error body any input may produce (20 issues of at most 300 + 300 characters). */
const MAX_ERROR_BODY = 32 * 1024;
/** A request that has not answered by then counts as a hang. */
const REQUEST_TIMEOUT_MS = 15_000;

const FIXTURES = join(import.meta.dirname, '../fixtures/alertmanager');
/** Every payload fixture (the delivery-* and headers-* files are timelines, not bodies). */
const WEBHOOKS: Record<string, Json> = Object.fromEntries(
  readdirSync(FIXTURES)
    .filter((f) => /^(firing|resolved)-.*\.json$/.test(f))
    .map((f) => [f, JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Json]),
);

/** The field names of an object schema (the core's are built on first use: `z.lazy`), from its JSON Schema. */
const fieldsOf = (schema: z.ZodMiniType) =>
  Object.keys(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }).properties ?? {});

// Field names straight from the schemas: a 400 may name any of them when it is missing from the body.
const ALERT_FIELDS = [...fieldsOf(webhookSchema), ...fieldsOf(webhookAlertSchema), ...fieldsOf(bareAlertSchema)];

interface Endpoint {
  path: string;
  /** Field names of the route's schemas: a 400 may name one that is missing from the body. */
  fields: string[];
  /** Path parameters a 400 may name (`id`). */
  params?: string[];
}

const ENDPOINTS = {
  alerts: { path: '/alerts', fields: [...new Set(ALERT_FIELDS)] },
  deploys: { path: '/context/deploys', fields: fieldsOf(contextSchemas.deploys) },
  logs: { path: '/context/logs', fields: fieldsOf(contextSchemas.logs) },
  traces: { path: '/context/traces', fields: fieldsOf(contextSchemas.traces) },
  resolve: { path: '/api/incidents/inc-000000000000/resolve', fields: [], params: ['id'] },
} satisfies Record<string, Endpoint>;
const ALL_ENDPOINTS: Endpoint[] = Object.values(ENDPOINTS);

// --- HTTP -----------------------------------------------------------------------------------------

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

interface SendOptions {
  /** `null`: no Content-Type header at all. Default `application/json`. */
  contentType?: string | null;
  /** `null`: no Authorization header. Default: the valid bearer token. */
  auth?: string | null;
  /** Default POST. */
  method?: 'GET' | 'POST';
}

let stack: TestStack;
let slack: CaptureServer;
/** `fingerprint@startsAt:status` of every alert any 2xx reported as newly accepted. */
const accepted = new Set<string>();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

async function send(
  path: string,
  body: string | Uint8Array | undefined,
  options: SendOptions & { timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const auth = options.auth === undefined ? `Bearer ${TOKEN}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  // A rejected fetch (connection reset, no answer in time) fails the property: that is a crash or a hang.
  const res = await fetch(`${stack.url}${path}`, {
    method: options.method ?? 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
}

const sendJson = (endpoint: Endpoint, value: unknown, options?: SendOptions) =>
  send(endpoint.path, JSON.stringify(value), options);

// --- What a well-formed answer is -------------------------------------------------------------------

/** Renders a path the way the API documents it: `alerts[2].labels.service`. */
function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every path a 400 may name for this body: each value present in it, and each schema field under
 * each object (a required field that is missing).
 */
function nameablePaths(body: unknown, fields: readonly string[]): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown, path: Segment[]) => {
    out.add(formatPath(path));
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, [...path, i]);
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
      for (const field of fields) out.add(formatPath([...path, field]));
    }
  };
  walk(body, []);
  return out;
}

interface Issue {
  path: string;
  message: string;
}

const NOT_JSON = Symbol('not JSON');

/**
 * The contract for any answer: never 5xx; every 4xx is a JSON object with `error` and `message`; a
 * 400 carries `issues` whose paths name fields of the body sent (or the body itself, '' — only when it
 * is not an object and not an array of items); a 2xx of an alert route records what was accepted.
 */
function expectWellFormed(reply: Reply, endpoint: Endpoint, sent: unknown = NOT_JSON, bytes = 0): Issue[] {
  const context = `${endpoint.path} answered ${reply.status}: ${reply.text.slice(0, 300)}`;
  expect(reply.status, context).toBeLessThan(500);
  expect(reply.status, context).toBeGreaterThanOrEqual(200);
  if (reply.status === 413) expect(bytes, context).toBeGreaterThan(MAX_BODY_BYTES);
  if (reply.status < 300) {
    if (endpoint.path === '/alerts') {
      const body = JSON.parse(reply.text) as { accepted: string[]; duplicates: number };
      for (const key of body.accepted) accepted.add(key);
    }
    return [];
  }
  // However bad the input, the answer stays small: 20 issues at most, each clipped.
  expect(reply.text.length, context).toBeLessThan(MAX_ERROR_BODY);
  const body = JSON.parse(reply.text) as { error?: unknown; message?: unknown; issues?: Issue[] };
  expect(body, context).toMatchObject({ message: expect.any(String) });
  // The gateway itself refuses oversized bodies and undecodable paths as API Gateway does
  // (`{"message":…}`); every answer of a handler, unknown routes included, is JSON with an `error`.
  if (body.error === undefined) {
    expect([400, 413], context).toContain(reply.status);
    return [];
  }
  expect(reply.contentType, context).toMatch(/^application\/json/);
  expect(body.error, context).toEqual(expect.any(String));
  if (reply.status !== 400) return [];

  const issues = body.issues ?? [];
  expect(issues.length, context).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(issue, context).toMatchObject({ path: expect.any(String), message: expect.stringMatching(/\S/) });
  }
  if (sent === NOT_JSON) return issues;
  const nameable = nameablePaths(sent, endpoint.fields);
  for (const param of endpoint.params ?? []) nameable.add(param);
  for (const issue of issues) expect(nameable, `${context}\nissue path "${issue.path}"`).toContain(issue.path);
  // An object is judged field by field; so is each item of a batch (unless the batch itself is the problem).
  const batchLimit = endpoint.path === '/alerts' ? MAX_GROUPS_PER_REQUEST : MAX_CONTEXT_BATCH;
  const itemized = isObject(sent) || (Array.isArray(sent) && sent.length > 0 && sent.length <= batchLimit);
  if (itemized) for (const issue of issues) expect(issue.path, `${context}\n(root-level issue)`).not.toBe('');
  return issues;
}

// --- Generators -----------------------------------------------------------------------------------

const printableAscii = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

// Accepted times run from 2000 to a day after receipt.
const isoTime = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true })
  .map((d) => d.toISOString());
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

const contextKinds = ['deploys', 'logs', 'traces'] as const;
const validItem: Record<(typeof contextKinds)[number], fc.Arbitrary<Json>> = {
  deploys: fc.record(
    { service: word, commit: fc.stringMatching(/^[0-9a-f]{7,40}$/), author: word, when: isoTime, message: fc.string() },
    { requiredKeys: ['service', 'commit', 'when'] },
  ),
  logs: fc.record(
    {
      service: word,
      level: fc.constantFrom('INFO', 'warn', 'ERROR', 'err', 'crit', 'FATAL', 'panic'),
      message: fc.string({ maxLength: 200 }),
      timestamp: isoTime,
    },
    { requiredKeys: ['service', 'level', 'message'] },
  ),
  traces: fc.record(
    { traceId: word, service: word, durationMs: fc.integer({ min: 0, max: 600_000 }), timestamp: isoTime },
    { requiredKeys: ['traceId', 'service', 'durationMs'] },
  ),
};

/** Every path inside a JSON value, the root excluded. */
function pathsIn(value: Json, prefix: Segment[] = []): Segment[][] {
  const children: [Segment, Json][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : isObject(value)
      ? Object.entries(value as Record<string, Json>)
      : [];
  return children.flatMap(([key, child]) => [[...prefix, key], ...pathsIn(child, [...prefix, key])]);
}

/**
 * Maps numbers DynamoDB cannot store (above 2^53 in magnitude, or non-zero below 1e-100) into its
 * range. Out-of-range numbers are a known product bug with a property of its own (see the end of the
 * file); taming them here keeps every other property about one thing.
 */
function tame(value: Json): Json {
  if (typeof value === 'number') {
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return value > 0 ? 1e15 : -1e15;
    return value !== 0 && Math.abs(value) < 1e-100 ? 0 : value;
  }
  if (Array.isArray(value)) return value.map(tame);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tame(v as Json)]));
  return value;
}

type Mutation = { op: 'delete' } | { op: 'replace'; value: Json } | { op: 'retype'; to: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ op: 'delete' as const }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => ({ op: 'replace' as const, value: tame(value) })),
  fc
    .constantFrom('string', 'number', 'boolean', 'null', 'array', 'object')
    .map((to) => ({ op: 'retype' as const, to })),
);

function retype(value: Json, to: string): Json {
  switch (to) {
    case 'string':
      return typeof value === 'string' ? `${value}!` : JSON.stringify(value);
    case 'number':
      return typeof value === 'number' ? -value - 0.5 : Number(value) || String(value).length;
    case 'boolean':
      return !value;
    case 'null':
      return null;
    case 'array':
      return [value];
    default:
      return { value };
  }
}

/** Applies the mutation at `path` to a copy of `base`. */
function mutate(base: Json, path: Segment[], mutation: Mutation): Json {
  const copy = structuredClone(base);
  const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<Segment, Json>)[key] as Json, copy);
  const key = path.at(-1) as Segment;
  const container = parent as Record<Segment, Json>;
  if (mutation.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete container[key];
  } else {
    container[key] = mutation.op === 'replace' ? mutation.value : retype(container[key] as Json, mutation.to);
  }
  return copy;
}

/** A valid payload with one field deleted, replaced by any JSON value, or turned into another type. */
const mutatedPayload = (valid: fc.Arbitrary<Json>) =>
  valid
    .filter((base) => pathsIn(base).length > 0)
    .chain((base) => {
      const paths = pathsIn(base);
      return fc.record({
        base: fc.constant(base),
        path: fc.constantFrom(...paths),
        mutation: mutationArb,
      });
    })
    .map(({ base, path, mutation }) => ({ path, mutation, payload: mutate(base, path, mutation) }));

/** True when issue path `a` and the mutated path `b` are the same field or one contains the other. */
const related = (a: string, b: string) =>
  a === b || b.startsWith(`${a}.`) || b.startsWith(`${a}[`) || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);

const webhookArb = fc.constantFrom(...Object.values(WEBHOOKS));

// --- Slack ----------------------------------------------------------------------------------------

/** The control sequences Slack acts on, and the escaped form the message must show instead. */
const HOSTILE: Record<string, string> = {
  '<!channel>': '&lt;!channel&gt;',
  '<!here>': '&lt;!here&gt;',
  '<@U123ABC>': '&lt;@U123ABC&gt;',
  '<http://x|y>': '&lt;http://x|y&gt;',
  '<#C1|c>': '&lt;#C1|c&gt;',
  '&': '&amp;',
};
const HOSTILE_LINE = Object.keys(HOSTILE).join(' ');

function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (isObject(value)) for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

/** No string anywhere in the message carries a raw `<`, `>` or a bare `&` (only `&amp;` `&lt;` `&gt;`). */
function expectEscaped(message: unknown, where: string) {
  for (const s of stringsIn(message)) {
    for (const raw of Object.keys(HOSTILE)) if (raw !== '&') expect(s, where).not.toContain(raw);
    expect(s, where).not.toMatch(/[<>]/);
    expect(s.replace(/&(amp|lt|gt);/g, ''), where).not.toContain('&');
  }
}

const slackMessages = () => slack.requests.map((r) => r.json() as { text: string; blocks: unknown[] });

// --- Other helpers --------------------------------------------------------------------------------

/** False for strings with lone surrogates, which no URL can carry. */
function encodable(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

async function queueDepth(queueUrl: string): Promise<number> {
  const out = await stack.emulators.sqsClient.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

interface IncidentLike {
  id: string;
  groupKey: string;
  alertCount: number;
  /** Alerts past the ones an incident lists. */
  overflowCount?: number;
  alerts: { fingerprint: string; startsAt: string; status: string }[];
}

async function allIncidents(): Promise<IncidentLike[]> {
  const out: IncidentLike[] = [];
  let cursor: string | undefined;
  do {
    const page = await stack.api(`/api/incidents?limit=100&view=full${cursor ? `&cursor=${cursor}` : ''}`, {
      token: TOKEN,
    });
    out.push(...page.body.incidents);
    cursor = page.body.cursor;
  } while (cursor);
  return out;
}

// --- The tests ------------------------------------------------------------------------------------

describe('fuzz: the HTTP API of the local stack', () => {
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    slack = await startCaptureServer();
    stack = await startTestStack({
      env: { INCIDENT_PILOT_TOKEN: TOKEN, INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/services/T0/B0/fuzz` },
    });
  });
  afterAll(async () => {
    await stack?.destroy();
    await slack?.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('answers any JSON value on every POST route with a 2xx or a well-formed 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_ENDPOINTS), fc.jsonValue(), async (endpoint, value) => {
        expectWellFormed(await sendJson(endpoint, value), endpoint, value);
      }),
      { numRuns: 250 },
    );
  });

  it('answers JSON shaped like the schemas (objects and batches of them) field by field', async () => {
    const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 1 }).map(tame), isoTime, word);
    const shaped = (endpoint: Endpoint) => {
      const item = fc.dictionary(fc.constantFrom(...endpoint.fields, 'extra'), fieldValue, { maxKeys: 6 });
      return fc.oneof(item, fc.array(item, { maxLength: 4 }));
    };
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(ENDPOINTS.alerts, ENDPOINTS.deploys, ENDPOINTS.logs, ENDPOINTS.traces)
          .chain((endpoint) => fc.tuple(fc.constant(endpoint), shaped(endpoint))),
        async ([endpoint, value]) => {
          expectWellFormed(await sendJson(endpoint, value), endpoint, value);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('answers a real Alertmanager webhook with one field deleted, replaced or retyped, naming that field', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedPayload(webhookArb), async ({ path, payload }) => {
        const issues = expectWellFormed(await sendJson(ENDPOINTS.alerts, payload), ENDPOINTS.alerts, payload);
        const at = formatPath(path);
        if (issues.length > 0) {
          expect(
            issues.some((i) => related(i.path, at)),
            `mutated ${at}; issues ${JSON.stringify(issues)}`,
          ).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('answers a valid context item or batch with one field deleted, replaced or retyped, naming that field', async () => {
    const cases = fc
      .constantFrom(...contextKinds)
      .chain((kind) =>
        fc.tuple(
          fc.constant(kind),
          mutatedPayload(fc.oneof(validItem[kind], fc.array(validItem[kind], { minLength: 1, maxLength: 3 }))),
        ),
      );
    await fc.assert(
      fc.asyncProperty(cases, async ([kind, { path, payload }]) => {
        const endpoint = ENDPOINTS[kind];
        const issues = expectWellFormed(await sendJson(endpoint, payload), endpoint, payload);
        const at = formatPath(path);
        if (issues.length > 0) {
          expect(
            issues.some((i) => related(i.path, at)),
            `mutated ${at}; issues ${JSON.stringify(issues)}`,
          ).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('stores valid context items and batches (the generators above start from accepted input)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...contextKinds)
          .chain((kind) => fc.tuple(fc.constant(kind), fc.array(validItem[kind], { minLength: 1, maxLength: 5 }))),
        async ([kind, items]) => {
          const reply = await sendJson(ENDPOINTS[kind], items);
          expect(reply.status, reply.text).toBe(202);
          expect(JSON.parse(reply.text)).toMatchObject({ stored: items.length });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('answers arbitrary strings and bytes as raw bodies, under any content type', async () => {
    const contentType = fc.oneof(
      fc.constantFrom(
        null,
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/octet-stream',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'image/png',
        '',
      ),
      printableAscii(40),
    );
    const body = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 600 }),
      fc.json().map((j) => `${j.slice(0, -1)}`), // truncated JSON
      fc.json().map((j) => `\ufeff${j}`), // a byte-order mark before valid JSON
      fc.constantFrom('', ' ', '{', '[]', '{}', 'null', '"', '\u0000', '{"alerts":[', 'true'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_ENDPOINTS), body, contentType, async (endpoint, raw, type) => {
        const reply = await send(endpoint.path, raw, { contentType: type });
        expectWellFormed(reply, endpoint, NOT_JSON);
      }),
      { numRuns: 200 },
    );
  });

  it('treats a valid webhook the same whatever the content type says', async () => {
    const type = fc.oneof(
      fc.constantFrom(null, 'text/plain', 'application/octet-stream', 'text/html'),
      printableAscii(30),
    );
    await fc.assert(
      fc.asyncProperty(webhookArb, type, async (hook, contentType) => {
        const reply = await send('/alerts', JSON.stringify(hook), { contentType });
        expectWellFormed(reply, ENDPOINTS.alerts, hook);
        expect(reply.status, reply.text).toBe(202);
      }),
      { numRuns: 20 },
    );
  });

  it('answers 401 (JSON) to any wrong credentials on every POST route, before reading the body', async () => {
    const wrong = fc.oneof(
      fc.constant(null),
      printableAscii(60),
      printableAscii(40).map((t) => `Bearer ${t}`),
      printableAscii(40).map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
      fc.constantFrom(`Bearer ${TOKEN}x`, `bearer ${TOKEN.slice(1)}`, `Token ${TOKEN}`, 'Basic !!!', `Bearer  `),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALL_ENDPOINTS),
        wrong.filter((a) => a?.trim() !== `Bearer ${TOKEN}`),
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.constant('{not json'),
        ),
        async (endpoint, auth, body) => {
          const reply = await send(endpoint.path, body, { auth });
          expect(reply.status, `${auth} → ${reply.text}`).toBe(401);
          expectWellFormed(reply, endpoint);
        },
      ),
      { numRuns: 80 },
    );
    // Basic auth with any user name and the right token is accepted (Alertmanager's basic_auth).
    const basic = `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`;
    expect((await send('/alerts', JSON.stringify(WEBHOOKS['firing-single-alert.json']), { auth: basic })).status).toBe(
      202,
    );
  });

  it('answers the resolve route for any incident id with 400 or 404 (or 200 for a real one), never 5xx', async () => {
    const incidents = await waitFor(async () => {
      const list = await allIncidents();
      return list.length > 0 ? list : null;
    });
    const realId = incidents[0]?.id as string;
    const id = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(encodable),
      fc.constantFrom(realId, `${realId}x`, 'inc-', '..', '%', ' ', 'inc-000000000000'),
    );
    await fc.assert(
      fc.asyncProperty(
        id,
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.constant(''),
        ),
        async (raw, body) => {
          const endpoint = { path: `/api/incidents/${encodeURIComponent(raw)}/resolve`, fields: [], params: ['id'] };
          const reply = await send(endpoint.path, body || undefined);
          expectWellFormed(reply, endpoint, body ? JSON.parse(body) : undefined);
          // '.' and '..' are path segments the client resolves before sending; an empty id is no route;
          // an id no incident can have (too long, other characters) is the caller's mistake: 400.
          if (raw !== realId) expect([400, 404], reply.text).toContain(reply.status);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('answers 413 (JSON) to bodies just over 1 MB on every POST route', async () => {
    for (const endpoint of ALL_ENDPOINTS) {
      for (const size of [MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 1000, 3 * MAX_BODY_BYTES]) {
        // Valid JSON of exactly `size` bytes: a string.
        const body = `"${'x'.repeat(size - 2)}"`;
        expect(Buffer.byteLength(body)).toBe(size);
        const reply = await send(endpoint.path, body);
        expect(reply.status, `${endpoint.path} ${size} bytes`).toBe(413);
        expectWellFormed(reply, endpoint, NOT_JSON, size);
      }
    }
    // Exactly the limit is not "too large" (it is a string, so a 400 for alerts/context, 404 for resolve).
    const atLimit = `"${'x'.repeat(MAX_BODY_BYTES - 2)}"`;
    for (const endpoint of ALL_ENDPOINTS) {
      expectWellFormed(await send(endpoint.path, atLimit), endpoint, 'x'.repeat(MAX_BODY_BYTES - 2), MAX_BODY_BYTES);
    }
  });

  it('shows Slack control sequences from labels, annotations, log lines and commit messages escaped', async () => {
    const now = Date.now();
    const service = 'fuzz-hostile';
    const deploy = {
      service,
      commit: 'badc0de',
      author: `mallory ${HOSTILE_LINE}`,
      when: new Date(now - 2 * 60_000).toISOString(),
      message: `DEPLOYMSG ${HOSTILE_LINE}`,
    };
    const logs = Array.from({ length: 10 }, (_, i) => ({
      service,
      level: 'ERROR',
      message: `LOGLINE ${HOSTILE_LINE}`,
      timestamp: new Date(now - 60_000 + i * 1000).toISOString(),
    }));
    const labels = { alertname: 'HostileAlert', service, team: `team ${HOSTILE_LINE}`, instance: `i ${HOSTILE_LINE}` };
    const hook = {
      ...(WEBHOOKS['firing-single-alert.json'] as object),
      groupKey: `{}:{alertname="HostileAlert", service="${service}"}`,
      groupLabels: { alertname: 'HostileAlert', service },
      commonLabels: labels,
      commonAnnotations: {},
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: { summary: `SUMMARY ${HOSTILE_LINE}`, description: `described ${HOSTILE_LINE}` },
          startsAt: new Date(now).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus/graph',
          fingerprint: '0123456789abcdef',
        },
      ],
    };
    expect((await sendJson(ENDPOINTS.deploys, deploy)).status).toBe(202);
    expect((await sendJson(ENDPOINTS.logs, logs)).status).toBe(202);
    expect((await sendJson(ENDPOINTS.alerts, hook)).status).toBe(202);

    const message = await waitFor(async () =>
      slackMessages().find((m) => stringsIn(m).some((s) => s.includes('HostileAlert'))),
    );
    expectEscaped(message, 'the Slack message');
    const strings = stringsIn(message.blocks);
    const all = strings.join('\n');
    for (const escaped of Object.values(HOSTILE)) expect(all).toContain(escaped);
    // Each source of untrusted text is shown, escaped: annotations, labels, the commit message, log lines.
    for (const marker of ['SUMMARY', '\nteam ', 'instance=', 'DEPLOYMSG', 'LOGLINE']) {
      const line = strings.find((s) => s.includes(marker)) ?? '';
      expect(line, marker).toContain('&lt;!channel&gt;');
    }
  });

  it('escapes any mix of control sequences in any label or annotation', async () => {
    const piece = fc.constantFrom(
      ...Object.keys(HOSTILE),
      '<',
      '>',
      '&amp;',
      '&lt;',
      ' ',
      'a',
      '*',
      '`',
      '\n',
      '@here',
    );
    const text = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join(''));
    const before = slack.requests.length;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name: text, summary: text, label: text }), { minLength: 3, maxLength: 5 }),
        async (cases) => {
          const run = Math.random().toString(36).slice(2, 8);
          const names = cases.map((c, i) => ({ ...c, alertname: `Esc${run}${i} ${c.name}` }));
          for (const [i, c] of names.entries()) {
            const labels = { alertname: c.alertname, service: `esc-${run}-${i}`, extra: c.label };
            const reply = await sendJson(ENDPOINTS.alerts, { labels, annotations: { summary: c.summary } });
            expectWellFormed(reply, ENDPOINTS.alerts, { labels });
            expect(reply.status).toBe(202);
          }
          const mine = await waitFor(async () => {
            const found = slackMessages().filter((m) => stringsIn(m).some((s) => s.includes(`Esc${run}`)));
            return found.length >= names.length ? found : null;
          });
          for (const m of mine) expectEscaped(m, JSON.stringify(m).slice(0, 400));
        },
      ),
      { numRuns: 3 },
    );
    expect(slack.requests.length).toBeGreaterThan(before);
  });

  // --- The adversarial classes: odd characters, oversize values, far dates, huge arrays, deep nesting,
  // long ids, duplicate keys. Whatever a caller sends is a 2xx or a small 4xx; what is accepted ends on
  // an incident (checked for the whole run by the last test).

  /** What JSON allows and well-behaved clients rarely send: non-BMP, control characters, lone surrogates. */
  const oddText = fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.constantFrom(
        '🔥',
        'Disk full 🔥',
        '\ud800',
        'a\udfffb',
        '\u0000',
        '\u001b[31m',
        '\u202eevil',
        '👩‍👩‍👧',
        '𝔘𝔫𝔦',
      ),
    )
    .filter((t) => t.trim().length > 0);
  // A new fingerprint for every alert: the same one again in a group is the same alert, still firing.
  let serial = 0;
  const nextFingerprint = () => (0x5150000000000 + serial++).toString(16);
  const firingAlert = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    status: 'firing',
    labels,
    annotations: {},
    startsAt: new Date().toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    ...extra,
  });
  const webhookOf = (groupKey: string, alerts: unknown[]) => ({
    version: '4',
    receiver: 'fuzz',
    status: 'firing',
    groupKey,
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts,
  });

  it('accepts odd characters in every string of an alert (bare or webhook, groupKey too) and of context', async () => {
    const texts = fc.record({ alertname: oddText, service: oddText, label: oddText, summary: oddText, key: oddText });
    await fc.assert(
      fc.asyncProperty(texts, fc.boolean(), async (t, asWebhook) => {
        const fingerprint = nextFingerprint();
        const labels = { alertname: t.alertname, service: t.service, extra: t.label, run: fingerprint };
        const annotations = { summary: t.summary, [t.key]: t.label };
        const alert = asWebhook
          ? webhookOf(`odd:${t.key}`, [firingAlert(labels, { annotations, fingerprint })])
          : { labels, annotations, startsAt: new Date().toISOString() };
        const at = new Date().toISOString();
        const sends: [Endpoint, unknown][] = [
          [ENDPOINTS.alerts, alert],
          [ENDPOINTS.deploys, { service: t.service, commit: t.key, author: t.label, when: at, message: t.summary }],
          [ENDPOINTS.logs, { service: t.service, level: 'ERROR', message: t.summary, timestamp: at }],
          [ENDPOINTS.traces, { traceId: t.key, service: t.service, durationMs: 12 }],
        ];
        for (const [endpoint, body] of sends) {
          const reply = await sendJson(endpoint, body);
          expectWellFormed(reply, endpoint, body);
          expect(reply.status, `${endpoint.path} ${reply.text.slice(0, 300)}`).toBe(202);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('answers values around and far past every size limit with a 202 or a 400 naming the field', async () => {
    const at = () => new Date().toISOString();
    const x = (n: number) => 'x'.repeat(n);
    const alertWith = (extra: Record<string, unknown>, labels: Record<string, string> = {}) => {
      const fingerprint = nextFingerprint();
      return webhookOf(`size:${fingerprint}`, [
        firingAlert({ alertname: 'Size', service: 'size', ...labels }, { fingerprint, ...extra }),
      ]);
    };
    // [what, limit, body of a value of n characters, the path a 400 must name]
    const limits: [string, number, (n: number) => [Endpoint, unknown], string][] = [
      ['label value', 1024, (n) => [ENDPOINTS.alerts, alertWith({}, { instance: x(n) })], 'alerts[0].labels.instance'],
      ['service label', 256, (n) => [ENDPOINTS.alerts, alertWith({}, { service: x(n) })], 'alerts[0].labels.service'],
      [
        'annotation',
        16_384,
        (n) => [ENDPOINTS.alerts, alertWith({ annotations: { d: x(n) } })],
        'alerts[0].annotations.d',
      ],
      ['generatorURL', 8192, (n) => [ENDPOINTS.alerts, alertWith({ generatorURL: x(n) })], 'alerts[0].generatorURL'],
      ['groupKey', 8192, (n) => [ENDPOINTS.alerts, { ...alertWith({}), groupKey: x(n) }], 'groupKey'],
      [
        'one alert in total (emoji annotations)',
        // n emoji of 4 bytes over 8 annotations, next to 40 bytes of names: 16,368 make 65,512 bytes.
        16_368,
        (n) => {
          const annotations = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`a${i}`, '🔥'.repeat(n / 8)]));
          return [ENDPOINTS.alerts, alertWith({ annotations })];
        },
        'alerts[0].annotations',
      ],
      ['service', 256, (n) => [ENDPOINTS.deploys, { service: x(n), commit: 'abc1234', when: at() }], 'service'],
      ['log message', 8000, (n) => [ENDPOINTS.logs, { service: 'size', level: 'ERROR', message: x(n) }], 'message'],
      ['traceId', 256, (n) => [ENDPOINTS.traces, { traceId: x(n), service: 'size', durationMs: 1 }], 'traceId'],
    ];
    const cases = fc.constantFrom(...limits).chain((limit) =>
      fc.tuple(
        fc.constant(limit),
        fc.oneof(
          fc.integer({ min: limit[1] - 8, max: limit[1] + 8 }).map((n) => n - (n % 8)),
          fc.integer({ min: limit[1] + 9, max: 300_000 }),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ([[what, limit, build, path], n]) => {
        const [endpoint, body] = build(n);
        const raw = JSON.stringify(body);
        const reply = await send(endpoint.path, raw);
        const issues = expectWellFormed(reply, endpoint, body, Buffer.byteLength(raw));
        if (n <= limit) expect(reply.status, `${what} of ${n}: ${reply.text.slice(0, 300)}`).toBe(202);
        else if (reply.status !== 413) {
          expect(reply.status, `${what} of ${n}`).toBe(400);
          expect(
            issues.some((i) => i.path === path || i.path.startsWith(`${path}.`)),
            `${what} of ${n}: ${JSON.stringify(issues)}`,
          ).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('accepts times from 2000 to a day ahead, and answers any other time with a 400 naming it', async () => {
    const HOUR = 3_600_000;
    const time = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer({ min: -72, max: 72 }).map((h) => new Date(Date.now() + h * HOUR).toISOString()),
      fc.constantFrom(
        '9999-12-31T23:59:00Z',
        '1999-12-31T23:59:59Z',
        '2000-01-01T00:00:00Z',
        '+275760-09-13T00:00:00.000Z',
        '-000001-01-01T00:00:00.000Z',
        '10000-01-01T00:00:00Z',
      ),
    );
    const field = fc.constantFrom('startsAt', 'endsAt', 'bare.startsAt', 'when', 'logs.timestamp', 'traces.timestamp');
    await fc.assert(
      fc.asyncProperty(field, time, async (where, ts) => {
        const fingerprint = nextFingerprint();
        const [endpoint, body, path]: [Endpoint, unknown, string] =
          where === 'startsAt' || where === 'endsAt'
            ? [
                ENDPOINTS.alerts,
                webhookOf(`time:${fingerprint}`, [firingAlert({ alertname: 'Time' }, { fingerprint, [where]: ts })]),
                `alerts[0].${where}`,
              ]
            : where === 'bare.startsAt'
              ? [ENDPOINTS.alerts, { labels: { alertname: 'TimeBare', i: fingerprint }, startsAt: ts }, 'startsAt']
              : where === 'when'
                ? [ENDPOINTS.deploys, { service: 'time', commit: 'abc1234', when: ts }, 'when']
                : [
                    where === 'logs.timestamp' ? ENDPOINTS.logs : ENDPOINTS.traces,
                    where === 'logs.timestamp'
                      ? { service: 'time', level: 'INFO', message: 'm', timestamp: ts }
                      : { traceId: fingerprint, service: 'time', durationMs: 1, timestamp: ts },
                    'timestamp',
                  ];
        const reply = await sendJson(endpoint, body);
        const issues = expectWellFormed(reply, endpoint, body);
        const ms = Date.parse(ts);
        const fourDigitYear = /^\d{4}-/.test(ts);
        const inRange = fourDigitYear && ms >= Date.parse('2000-01-01T00:00:00Z') && ms <= Date.now() + 23 * HOUR;
        const outOfRange = !fourDigitYear || ms < Date.parse('2000-01-01T00:00:00Z') || ms > Date.now() + 25 * HOUR;
        // A far past endsAt (before year 1000) is Go's "not ended" and fine.
        const unset = where === 'endsAt' && fourDigitYear && ms < Date.parse('1000-01-01T00:00:00Z');
        if (inRange || unset) expect(reply.status, `${where}=${ts}: ${reply.text.slice(0, 300)}`).toBe(202);
        else if (outOfRange)
          expect(
            issues.map((i) => i.path),
            `${where}=${ts}`,
          ).toContain(path);
      }),
      { numRuns: 40 },
    );
  });

  it('answers huge arrays with one small 400 naming the limit, whatever they hold', async () => {
    const valid = (i: number) => ({ labels: { alertname: `Huge${i}`, service: 'huge' } });
    const cases = fc.oneof(
      fc.integer({ min: 1001, max: 100_000 }).map((n) => [ENDPOINTS.alerts, webhookOf('huge', Array(n).fill({}))]),
      fc.integer({ min: 1, max: 1000 }).map((n) => [ENDPOINTS.alerts, webhookOf('huge', Array(n).fill({}))]),
      fc.integer({ min: 1001, max: 15_000 }).map((n) => [ENDPOINTS.alerts, Array(n).fill(valid(0))]),
      fc
        .integer({ min: MAX_GROUPS_PER_REQUEST + 1, max: 200 })
        .map((n) => [ENDPOINTS.alerts, Array.from({ length: n }, (_, i) => valid(i))]),
      fc
        .constantFrom(ENDPOINTS.deploys, ENDPOINTS.logs, ENDPOINTS.traces)
        .chain((e) => fc.integer({ min: 501, max: 100_000 }).map((n) => [e, Array(n).fill({})])),
    ) as fc.Arbitrary<[Endpoint, unknown]>;
    await fc.assert(
      fc.asyncProperty(cases, async ([endpoint, body]) => {
        const raw = JSON.stringify(body);
        const reply = await send(endpoint.path, raw);
        // Not walked for nameable paths: that would cost the test (and the stack it shares a thread with)
        // more than the request.
        const issues = expectWellFormed(reply, endpoint, NOT_JSON, Buffer.byteLength(raw));
        expect(reply.status).toBe(400);
        expect(issues.length).toBeLessThanOrEqual(20);
        const items = Array.isArray(body) ? body.length : (body as { alerts: unknown[] }).alerts.length;
        if (items > (endpoint === ENDPOINTS.alerts ? 1000 : 500)) expect(issues[0]?.message).toMatch(/at most \d+/);
      }),
      { numRuns: 30 },
    );
  });

  it('answers deeply nested values anywhere with a well-formed 4xx', async () => {
    const nested = fc
      .tuple(fc.integer({ min: 1000, max: 150_000 }), fc.boolean())
      .map(([depth, arrays]) =>
        arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      );
    const where = fc.constantFrom(
      (v: string) => [ENDPOINTS.alerts, v],
      (v: string) => [ENDPOINTS.alerts, `{"labels":${v}}`],
      (v: string) => [ENDPOINTS.alerts, `{"labels":{"alertname":"Deep"},"annotations":{"summary":${v}}}`],
      (v: string) => [ENDPOINTS.alerts, `{"groupKey":"deep","status":"firing","alerts":[${v}]}`],
      (v: string) => [ENDPOINTS.logs, `[{"service":${v},"level":"ERROR","message":"m"}]`],
    ) as fc.Arbitrary<(v: string) => [Endpoint, string]>;
    await fc.assert(
      fc.asyncProperty(nested, where, async (value, place) => {
        const [endpoint, raw] = place(value);
        const reply = await send(endpoint.path, raw);
        expectWellFormed(reply, endpoint, NOT_JSON, Buffer.byteLength(raw));
        expect(reply.status).toBe(400);
      }),
      { numRuns: 12 },
    );
  });

  it('answers the GET routes with any id or query with a 2xx or a small 4xx', async () => {
    const id = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter(encodable),
      fc.integer({ min: 100, max: 4000 }).map((n) => 'i'.repeat(n)),
      fc.constantFrom('inc-000000000000', 'inc-🔥', '%00', 'a b'),
    );
    const query = fc.dictionary(
      fc.constantFrom('limit', 'cursor', 'status', 'service', 'view', 'x'),
      fc.oneof(
        printableAscii(30),
        fc.integer().map(String),
        fc.integer({ min: 100, max: 2000 }).map((n) => 'c'.repeat(n)),
      ),
      { maxKeys: 3 },
    );
    await fc.assert(
      fc.asyncProperty(id, query, async (raw, params) => {
        const paths = [
          `/api/incidents/${encodeURIComponent(raw)}`,
          `/api/incidents?${new URLSearchParams(params).toString()}`,
        ];
        for (const path of paths) {
          const reply = await send(path, undefined, { method: 'GET' });
          expectWellFormed(reply, { path, fields: [] });
          expect([200, 400, 404], `${path.slice(0, 200)} → ${reply.text.slice(0, 200)}`).toContain(reply.status);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('takes the last of duplicate keys, as JSON.parse does', async () => {
    const t = new Date().toISOString();
    const raw =
      '{"labels":{"alertname":"DupFirst","service":"dup"},"labels":{"alertname":"DupLast 🔥","alertname":"DupLast","service":"dup"},' +
      `"startsAt":"1999-01-01T00:00:00Z","startsAt":"${t}"}`;
    const reply = await send('/alerts', raw);
    expect(reply.status, reply.text).toBe(202);
    const [key] = (JSON.parse(reply.text) as { accepted: string[] }).accepted;
    accepted.add(key as string);
    const incident = await waitFor(async () => (await allIncidents()).find((i) => i.groupKey.includes('DupLast')));
    expect(incident.alerts[0]?.startsAt).toBe(t);
  });

  it('left every Slack message of the run escaped, every accepted alert on an incident, and no job failed', async () => {
    await waitFor(async () => (await queueDepth(stack.queueUrl)) === 0, 30_000);
    for (const [i, m] of slackMessages().entries()) expectEscaped(m, `Slack message #${i}`);

    const onIncidents = new Set<string>();
    for (const incident of await allIncidents()) {
      expect(incident.alertCount).toBe(incident.alerts.length + (incident.overflowCount ?? 0));
      for (const a of incident.alerts) onIncidents.add(`${a.fingerprint}@${a.startsAt}`);
    }
    const firing = [...accepted].filter((k) => k.endsWith(':firing')).map((k) => k.slice(0, -':firing'.length));
    expect(firing.length).toBeGreaterThan(0);
    expect(firing.filter((k) => !onIncidents.has(k))).toEqual([]);

    const stats = (await stack.api('/api/stats', { token: TOKEN })).body;
    expect(stats.jobsFailed).toBe(0);
    expect(await queueDepth(stack.dlqUrl)).toBe(0);
    expect((await stack.api('/healthz')).status).toBe(200);
  });

  // --- Product bugs found by fuzzing: regressions, and (the wide group) one still open. -----

  // Values within 1 MB that DynamoDB cannot store as they are; described by a size or a number so a
  // counterexample prints as one line rather than a megabyte.
  const hook = WEBHOOKS['firing-single-alert.json'] as { alerts: Record<string, unknown>[] };
  const unstorable: [string, fc.Arbitrary<number>, (n: number) => [Endpoint, unknown]][] = [
    [
      'an alert item above 400 KB (one big annotation)',
      fc.integer({ min: 410_000, max: 1_000_000 }),
      (n) => [
        ENDPOINTS.alerts,
        { ...hook, groupKey: `big-${n}`, alerts: [{ ...hook.alerts[0], annotations: { description: 'd'.repeat(n) } }] },
      ],
    ],
    [
      'a deploy item above 400 KB (a big author)',
      fc.integer({ min: 410_000, max: 1_000_000 }),
      (n) => [ENDPOINTS.deploys, { service: 'api', commit: 'abc1234', author: 'a'.repeat(n), when: EPOCH }],
    ],
    [
      'a context partition key above 2,048 bytes (a long service)',
      fc.integer({ min: 2100, max: 100_000 }),
      (n) => [ENDPOINTS.logs, { service: 's'.repeat(n), level: 'ERROR', message: 'boom' }],
    ],
    [
      'a trace duration above 2^53 or below 1e-130',
      fc.oneof(fc.double({ min: 2 ** 53 + 2, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e-200, 5e-324)),
      (n) => [ENDPOINTS.traces, { traceId: 't', service: 'api', durationMs: n }],
    ],
  ];
  for (const [what, sizes, build] of unstorable) {
    it(`never answers 5xx to a body within 1 MB holding ${what}`, async () => {
      await fc.assert(
        fc.asyncProperty(sizes, async (n) => {
          const [endpoint, body] = build(n);
          const raw = JSON.stringify(body);
          const bytes = Buffer.byteLength(raw);
          expect(bytes).toBeLessThanOrEqual(MAX_BODY_BYTES);
          expectWellFormed(await send(endpoint.path, raw), endpoint, body, bytes);
        }),
        { numRuns: 4 },
      );
    });
  }

  it('opens an incident for every alert it accepts, even when the group is large (or refuses it with a 4xx)', async () => {
    const hook = structuredClone(WEBHOOKS['firing-group-3-alerts.json']) as {
      groupKey: string;
      alerts: { labels: Record<string, string>; fingerprint: string }[];
    };
    hook.groupKey = '{}:{alertname="BigLabels", service="big"}';
    for (const [i, alert] of hook.alerts.entries()) {
      alert.labels = { ...alert.labels, alertname: 'BigLabels', blob: `${i}${'x'.repeat(150_000)}` };
      alert.fingerprint = `b1${i}`;
    }
    const reply = await sendJson(ENDPOINTS.alerts, hook);
    expectWellFormed(reply, ENDPOINTS.alerts, hook);
    if (reply.status >= 400) return;
    const incident = await waitFor(
      async () => (await allIncidents()).find((i) => i.groupKey === hook.groupKey),
      10_000,
    ).catch(async () => {
      const stats = (await stack.api('/api/stats', { token: TOKEN })).body;
      throw new Error(`202 for 3 alerts but no incident after 10 s (jobsFailed ${stats.jobsFailed})`);
    });
    expect(incident.alertCount).toBe(3);
  });

  it('opens an incident for every alert it accepts when a group grows wide: many labels, several notifications', async () => {
    // Each notification stays within 1 MB and every label within its limit; the group as a whole is what
    // is large. Alertmanager notifies such a group whenever it grows (or with max_alerts, in slices).
    const shape = fc.record({
      alerts: fc.integer({ min: 300, max: 550 }),
      width: fc.integer({ min: 100, max: 128 }),
      notifications: fc.integer({ min: 1, max: 3 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(shape, async ({ alerts, width, notifications }) => {
        run += 1;
        const groupKey = `{}:{alertname="WideGroup${run}", service="wide"}`;
        for (let part = 0; part < notifications; part++) {
          const hook = {
            version: '4',
            receiver: 'fuzz',
            status: 'firing',
            groupKey,
            groupLabels: { alertname: `WideGroup${run}` },
            commonLabels: { alertname: `WideGroup${run}`, service: 'wide' },
            commonAnnotations: {},
            externalURL: 'http://alertmanager:9093',
            truncatedAlerts: 0,
            alerts: Array.from({ length: alerts }, (_, i) => {
              const labels: Record<string, string> = { alertname: `WideGroup${run}`, service: 'wide' };
              for (let k = 0; k < 8; k++) labels[`label_${k}`] = `${part}-${i}-${k}-${'v'.repeat(width)}`;
              return {
                status: 'firing',
                labels,
                annotations: { summary: `${'s'.repeat(190)} ${i}` },
                startsAt: EPOCH,
                endsAt: '0001-01-01T00:00:00Z',
                generatorURL: '',
                fingerprint: (0x100000 * (part + 1) + i).toString(16),
              };
            }),
          };
          const raw = JSON.stringify(hook);
          expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_BODY_BYTES);
          const reply = await send('/alerts', raw);
          expectWellFormed(reply, ENDPOINTS.alerts, hook, Buffer.byteLength(raw));
          if (reply.status >= 400) return;
        }
        const want = alerts * notifications;
        await waitFor(async () => {
          const found = (await allIncidents()).filter((i) => i.groupKey === groupKey);
          return found.reduce((n, i) => n + i.alertCount, 0) === want;
        }, 10_000).catch(async () => {
          const stats = (await stack.api('/api/stats', { token: TOKEN })).body;
          const found = (await allIncidents()).filter((i) => i.groupKey === groupKey);
          throw new Error(
            `${want} alerts accepted (202) but ${found.reduce((n, i) => n + i.alertCount, 0)} on incidents after 10 s ` +
              `(${found.length} incident(s); jobsFailed ${stats.jobsFailed})`,
          );
        });
      }),
      // Every failing run waits 10 s: no shrinking, the first counterexample is clear enough.
      { numRuns: 2, endOnFailure: true },
    );
  }, 90_000);

  it('answers a path with malformed percent-encoding with a 4xx, and keeps serving', async () => {
    for (const path of ['/api/incidents/%E0%A4%A/resolve', '/context/%ZZ', '/api/incidents/%/resolve']) {
      const reply = await send(path, '{}', { timeoutMs: 3000 });
      expect(reply.status, path).toBeGreaterThanOrEqual(400);
      expect(reply.status, path).toBeLessThan(500);
    }
    expect((await stack.api('/healthz')).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});
