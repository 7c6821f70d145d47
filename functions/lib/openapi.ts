/**
 * The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`. Request bodies and query
 * parameters come from the same zod schemas the handlers validate with (zod's JSON Schema output, draft
 * 2020-12, which OpenAPI 3.1 uses as is); paths come from the route table. A route without an entry in
 * {@link OPERATIONS} makes generation throw, so a new route cannot ship undescribed.
 */
import {
  bareAlertSchema,
  CONTEXT_KINDS,
  deploySchema,
  findingSchema,
  incidentSummarySchema,
  logInputSchema,
  STAT_NAMES,
  severity,
  traceInputSchema,
  webhookSchema,
} from '@incident-pilot/core';
import * as z from 'zod/mini';
import { ROUTES } from '../routes.js';
import { ERROR_CODES } from './http.js';

type Json = Record<string, unknown>;

/** Input schemas (what a client sends: defaults optional, transforms accepted as their input). */
const input = (schema: z.ZodMiniType): Json =>
  strip(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }));
const output = (schema: z.ZodMiniType): Json =>
  strip(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12' }));

/** `$schema` belongs to standalone JSON Schema documents, not to schemas inside OpenAPI components. */
function strip(schema: Json): Json {
  const { $schema: _, ...rest } = schema;
  return rest;
}

const incidentAlert = z.object({
  fingerprint: z.string(),
  startsAt: z.string(),
  endsAt: z.nullable(z.string()),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
  lastSeenAt: z.string(),
});

const timelineEntry = z.object({
  at: z.string(),
  type: z.string(),
  summary: z.string(),
  changes: z.optional(z.array(z.string())),
  by: z.optional(z.string()),
});

/** One entry of "what changed" (an `updated` event). */
const change = z.object({
  kind: z.string(),
  summary: z.string(),
  ruleId: z.optional(z.string()),
  severity: z.optional(severity),
  from: z.optional(severity),
  count: z.optional(z.number().check(z.int())),
});

/** A Slack user who acted on an incident (Slack app mode). */
const actor = z.object({ id: z.string(), name: z.string() });

/**
 * An incident in a list (`view=compact`, the default). Its JSON Schema allows no other properties, so
 * every field of `Incident` but FULL_VIEW_FIELDS is named here (the OpenAPI test checks the list).
 */
const integer = z.number().check(z.int());
const incidentSummary = z.extend(incidentSummarySchema, {
  overflowCount: z.optional(integer),
  overflowResolvedCount: z.optional(integer),
  findings: z.array(findingSchema),
  previousIncidentId: z.nullable(z.string()),
  refreshedAt: z.optional(z.string()),
  lastUpdate: z.optional(z.object({ revision: integer, at: z.string(), changes: z.array(change) })),
  slack: z.optional(z.object({ channel: z.string(), ts: z.string() })),
  acknowledgedBy: z.optional(actor),
  acknowledgedAt: z.optional(z.string()),
  mute: z.optional(z.object({ until: z.string(), by: actor })),
  resolvedBy: z.optional(actor),
  resolutionNote: z.optional(z.string()),
  version: integer,
});

/** A whole incident (`GET /api/incidents/{id}`, lists with `view=full`). */
const incident = z.extend(incidentSummary, {
  alerts: z.array(incidentAlert),
  narration: z.string(),
  timeline: z.optional(z.array(timelineEntry)),
  pendingChanges: z.optional(z.array(change)),
  /** What the opening or the last update said: severity, and each finding's by `<ruleId>|<first evidence ref>`. */
  announced: z.optional(z.object({ severity, findings: z.record(z.string(), severity) })),
  commonLabels: z.optional(z.record(z.string(), z.string())),
});

const errorBody = z.object({
  error: z.enum(Object.values(ERROR_CODES) as [string, ...string[]]),
  message: z.string(),
  issues: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  /** Issues past the first 20 listed in `issues`. */
  moreIssues: z.optional(integer),
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const content = (schema: Json) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Json) => ({ description, content: content(schema) });

const ERROR_DESCRIPTIONS: Record<keyof typeof ERROR_CODES, string> = {
  400: 'Invalid input: `issues` names every bad field',
  401: 'Missing or invalid credentials',
  404: 'No such incident or route',
  405: 'The path exists, with other methods (see the `Allow` header)',
  413: 'Body larger than 1 MB',
  422: 'Valid input the store refuses as it is (final: not retried)',
  500: 'A fault no layer classified (a bug); the message carries the request id',
  503: 'A transient fault: retry after `Retry-After` seconds',
};

interface Operation {
  summary: string;
  /** Answered without a token. */
  open?: boolean;
  /** Another scheme than the token (Slack's request signature). */
  security?: Json[];
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
  /** Error statuses this route answers besides 401 (protected routes), 500 and 503. */
  errors?: (keyof typeof ERROR_CODES)[];
}

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** Query parameters of `GET /api/incidents`, from the handler's own schema. */
function listParameters(schema: z.ZodMiniObject): Json[] {
  const properties = (input(schema).properties ?? {}) as Record<string, Json>;
  return Object.entries(properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
}

/**
 * What each route does, keyed `METHOD path` as in the route table. `listQuery` is passed in rather
 * than imported so this module does not import the query handler.
 */
function operations(listQuery: z.ZodMiniObject): Record<string, Operation> {
  return {
    'POST /alerts': {
      summary: 'Alertmanager webhook (version 4), a bare alert, or an array of bare alerts',
      requestBody: {
        required: true,
        content: content({ oneOf: [ref('Webhook'), ref('BareAlert'), { type: 'array', items: ref('BareAlert') }] }),
      },
      responses: {
        202: ok('Stored; one correlation job queued per group with new alerts', {
          type: 'object',
          required: ['status', 'accepted', 'duplicates'],
          properties: {
            status: { const: 'accepted' },
            accepted: { type: 'array', items: { type: 'string' }, description: '`<fingerprint>@<startsAt>:<status>`' },
            duplicates: { type: 'integer' },
            heartbeats: { type: 'integer', description: 'Heartbeat alerts recorded (never incidents)' },
          },
        }),
      },
      errors: [400, 413, 422],
    },
    'POST /context/{kind}': {
      summary: 'Context: one deploy, log line or trace, or an array of at most 500',
      parameters: [{ name: 'kind', in: 'path', required: true, schema: { enum: [...CONTEXT_KINDS] } }],
      requestBody: {
        required: true,
        content: content({
          oneOf: ['Deploy', 'LogLine', 'Trace'].flatMap((name) => [ref(name), { type: 'array', items: ref(name) }]),
        }),
      },
      responses: {
        202: ok('Stored with an expiry', {
          type: 'object',
          required: ['status', 'stored'],
          properties: { status: { const: 'accepted' }, stored: { type: 'integer' } },
        }),
      },
      errors: [400, 404, 413, 422],
    },
    'GET /api/incidents': {
      summary: 'Incidents, newest first, through an index; compact unless `view=full`',
      parameters: listParameters(listQuery),
      responses: {
        200: ok('One page; pass `cursor` back for the next', {
          type: 'object',
          required: ['incidents'],
          properties: {
            incidents: { type: 'array', items: { anyOf: [ref('IncidentSummary'), ref('Incident')] } },
            cursor: { type: 'string' },
          },
        }),
      },
      errors: [400],
    },
    'GET /api/incidents/{id}': {
      summary: 'One incident',
      parameters: [idParam],
      responses: { 200: ok('The incident', ref('Incident')) },
      errors: [400, 404],
    },
    'POST /api/incidents/{id}/resolve': {
      summary: 'Resolve an incident by hand (idempotent); the sinks get the resolution',
      parameters: [idParam],
      responses: { 200: ok('The resolved incident', ref('Incident')) },
      errors: [400, 404],
    },
    'GET /api/stats': {
      summary: 'Counters since the start',
      responses: {
        200: ok('Counters', {
          type: 'object',
          required: [...STAT_NAMES],
          properties: Object.fromEntries(STAT_NAMES.map((n) => [n, { type: 'integer' }])),
        }),
      },
    },
    'GET /api/rules': {
      summary: 'Every rule with how often it fired and its 👍/👎 precision (from Slack votes)',
      responses: {
        200: ok('The scoreboard', {
          type: 'object',
          required: ['rules'],
          properties: {
            rules: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'description', 'fired', 'up', 'down', 'precision', 'lastFiredAt'],
                properties: {
                  id: { type: 'string' },
                  description: { type: 'string' },
                  fired: { type: 'integer' },
                  up: { type: 'integer' },
                  down: { type: 'integer' },
                  precision: { type: ['number', 'null'], description: 'up / (up + down); null before any vote' },
                  lastFiredAt: { type: ['string', 'null'] },
                },
              },
            },
          },
        }),
      },
    },
    'POST /slack/interactions': {
      summary: "Slack's interactivity request URL (buttons, the resolve dialog); signed by Slack, not the token",
      security: [{ slackSignature: [] }],
      parameters: [
        { name: 'x-slack-signature', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'x-slack-request-timestamp', in: 'header', required: true, schema: { type: 'string' } },
      ],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              required: ['payload'],
              properties: { payload: { type: 'string', description: "Slack's interaction payload, as JSON" } },
            },
          },
        },
      },
      responses: { 200: { description: 'Handled (Slack expects an empty 200, or a view update)' } },
      errors: [400, 401, 413],
    },
    'GET /openapi.json': {
      summary: 'This document',
      open: true,
      responses: { 200: ok('OpenAPI 3.1', { type: 'object' }) },
    },
    'GET /healthz': {
      summary: 'Liveness',
      open: true,
      responses: {
        200: ok('Up', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }),
      },
    },
  };
}

/** Builds the document; throws when a route of the table has no description. */
export function buildOpenApiDocument(listQuery: z.ZodMiniObject): Json {
  const ops = operations(listQuery);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const op = ops[key];
    if (!op) throw new Error(`no OpenAPI description for route ${key}`);
    const errors = [...new Set([...(op.open ? [] : [401 as const]), ...(op.errors ?? []), 500 as const, 503 as const])];
    const responses: Record<string, Json> = { ...op.responses };
    for (const status of errors) responses[status] = ok(ERROR_DESCRIPTIONS[status], ref('Error'));
    const item = paths[route.path] ?? {};
    paths[route.path] = item;
    item[route.method.toLowerCase()] = {
      operationId: operationId(route.method, route.path),
      summary: op.summary,
      ...(op.open ? { security: [] } : op.security ? { security: op.security } : {}),
      ...(op.parameters ? { parameters: op.parameters } : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'incident-pilot',
      version: '0.1.0',
      description:
        'Alertmanager webhook, context ingest and query API. Any other path answers 404, a known path with ' +
        'another method 405, both with the `Error` body.',
    },
    paths,
    components: {
      schemas: {
        Webhook: input(webhookSchema),
        BareAlert: input(bareAlertSchema),
        Deploy: input(deploySchema),
        LogLine: input(logInputSchema),
        Trace: input(traceInputSchema),
        IncidentSummary: output(incidentSummary),
        Incident: output(incident),
        Error: output(errorBody),
      },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The inbound token' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'Any user name, the token as the password' },
        slackSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-slack-signature',
          description: "Slack's v0 request signature (HMAC-SHA256 of the timestamp and body with the signing secret)",
        },
      },
    },
    security: [{ bearerAuth: [] }, { basicAuth: [] }],
  };
}

/** `GET /api/incidents/{id}` → `getApiIncidentsId`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}
