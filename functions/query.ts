/** The query API: incidents (list, get, resolve), stats and the health check. */
import { groupIdOf, NotFoundError, resolveIncident, ValidationError } from '@incident-pilot/core';
import * as z from 'zod';
import { type HttpRequest, httpHandler, json } from './lib/http.js';

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

export async function queryRoute({ event, root, receivedAt }: HttpRequest) {
  const id = event.pathParameters?.id ?? '';
  switch (event.routeKey) {
    case 'GET /healthz':
      return json(200, { status: 'ok' });
    case 'GET /api/stats':
      return json(200, await root.store.getStats());
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
      const incident = await root.store.getIncident(id);
      if (!incident) throw new NotFoundError(`no incident ${id}`);
      return json(200, incident);
    }
    case 'POST /api/incidents/{id}/resolve': {
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
