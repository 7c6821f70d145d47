/** The query API: incidents (list, get, resolve), stats, the rule scoreboard, the OpenAPI document and the health check. */
import {
  groupIdOf,
  incidentStatus,
  NotFoundError,
  narrate,
  parseWith,
  resolveIncident,
  rules,
  ValidationError,
} from '@incident-pilot/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { type HttpRequest, httpHandler, json } from './lib/http.js';
import { buildOpenApiDocument } from './lib/openapi.js';
import { ROUTES } from './routes.js';

/** `GET /api/incidents` query parameters. Strict: a misspelt filter (`stauts=open`) is a 400, not an unfiltered list. */
export const listQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 20),
  cursor: z.optional(z.string().check(z.minLength(1))),
  status: z.optional(incidentStatus),
  service: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  /** `compact` (default) leaves out FULL_VIEW_FIELDS: `alerts`, `narration`, `timeline`, … */
  view: z._default(z.enum(['compact', 'full']), 'compact'),
});

/**
 * The most a page of incidents may hold as JSON. A Lambda function answers at most 6 MB, and its answer
 * carries the body JSON-escaped (at worst twice its size): 100 whole incidents at their largest are 14 MB.
 */
export const MAX_PAGE_BYTES = 2.5 * 1024 * 1024;

let openApi: Record<string, unknown> | undefined;

// Incident ids are `inc-` and 12 hex digits; anything far from that shape is a caller's mistake (and
// a 3,000-character id would be a key DynamoDB refuses).
const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function incidentId(event: HttpRequest['event']): string {
  const id = event.pathParameters?.id ?? '';
  if (!INCIDENT_ID.test(id)) {
    throw new ValidationError(
      [{ path: 'id', message: 'expected an incident id like inc-0123456789ab (at most 128 letters, digits, . _ : -)' }],
      'path',
    );
  }
  return id;
}

export async function queryRoute({ event, root, receivedAt }: HttpRequest) {
  switch (event.routeKey) {
    case 'GET /healthz':
      return json(200, { status: 'ok' });
    case 'GET /openapi.json':
      openApi ??= buildOpenApiDocument(listQuery);
      return json(200, openApi);
    case 'GET /api/stats':
      return json(200, await root.store.getStats());
    case 'GET /api/rules': {
      // Every registered rule, voted on or not: precision is null until someone votes.
      const scores = await root.store.ruleScores(rules.map((r) => r.id));
      return json(200, {
        rules: rules.map((rule, i) => {
          const s = scores[i] ?? { fired: 0, up: 0, down: 0, lastFiredAt: null };
          return {
            id: rule.id,
            description: rule.description,
            fired: s.fired,
            up: s.up,
            down: s.down,
            precision: s.up + s.down > 0 ? s.up / (s.up + s.down) : null,
            lastFiredAt: s.lastFiredAt,
          };
        }),
      });
    }
    case 'GET /api/incidents': {
      const query = parseWith(listQuery, event.queryStringParameters ?? {}, 'query');
      const page = await root.store.listIncidents({ ...query, maxBytes: MAX_PAGE_BYTES });
      return json(200, { incidents: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) });
    }
    case 'GET /api/incidents/{id}': {
      const id = incidentId(event);
      const incident = await root.store.getIncident(id);
      if (!incident) throw new NotFoundError(`no incident ${id}`);
      return json(200, incident);
    }
    case 'POST /api/incidents/{id}/resolve': {
      const id = incidentId(event);
      const { incident } = await resolveIncident({ store: root.store, narrate }, id, receivedAt);
      // The worker announces the resolution to the sinks, exactly once per sink (its markers make a
      // repeated job a no-op). Queued on every call, not only the one that resolved it: when that
      // call's enqueue failed (a 503), its retry finds the incident resolved and must still queue it.
      await root.queue.enqueue({
        groupId: groupIdOf(incident.groupKey),
        enqueuedAt: receivedAt,
      });
      return json(200, incident);
    }
    default:
      return unmatched(event);
  }
}

/** API Gateway's `$default` route: a known path with another method is a 405, anything else a 404. */
function unmatched(event: APIGatewayProxyEventV2) {
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const allowed = ROUTES.filter((r) => matchesPath(r.path, path)).map((r) => r.method);
  if (allowed.length > 0) {
    return json(
      405,
      { error: 'method_not_allowed', message: `${method} is not allowed on ${path}; use ${allowed.join(', ')}` },
      { allow: allowed.join(', ') },
    );
  }
  throw new NotFoundError(`no route ${method} ${path}`);
}

/** Whether a concrete path fits a route template (`{name}` matches one non-empty segment). */
export function matchesPath(template: string, path: string): boolean {
  const want = template.split('/');
  const got = path.split('/');
  return (
    want.length === got.length && want.every((part, i) => (/^\{.+\}$/.test(part) ? got[i] !== '' : part === got[i]))
  );
}

/** Open without a token: the health check, the API description, and the answer to an unknown route. */
const OPEN_ROUTES = new Set(['GET /healthz', 'GET /openapi.json', '$default']);

export const handler = httpHandler(queryRoute, { open: (event) => OPEN_ROUTES.has(event.routeKey) });
