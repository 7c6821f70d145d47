/** The query API: incidents (list, get, resolve), stats, the rule scoreboard and the health check. */
import { groupIdOf, NotFoundError, resolveIncident, ValidationError } from '@incident-pilot/core';
import * as z from 'zod';
import { type HttpRequest, httpHandler, json } from './lib/http.js';

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

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
    case 'GET /api/stats':
      return json(200, await root.store.getStats());
    case 'GET /api/rules': {
      // Every registered rule, voted on or not: precision is null until someone votes.
      const scores = await root.store.ruleScores(root.rules.map((r) => r.id));
      return json(200, {
        rules: root.rules.map((rule, i) => {
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
      const parsed = listQuery.safeParse(event.queryStringParameters ?? {});
      if (!parsed.success) {
        throw new ValidationError(
          parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          'query',
        );
      }
      const page = await root.store.listIncidents(parsed.data);
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
      const { incident, changed } = await resolveIncident(
        { store: root.store, narrate: (i) => root.narrate(i) },
        id,
        receivedAt,
      );
      // The worker announces the resolution to the sinks, exactly once per sink.
      if (changed) {
        await root.queue.enqueue({
          groupId: groupIdOf(incident.groupKey),
          enqueuedAt: receivedAt,
        });
      }
      return json(200, incident);
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
}

export const handler = httpHandler(queryRoute, { open: (event) => event.routeKey === 'GET /healthz' });
