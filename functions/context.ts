/** `POST /context/{deploys|logs|traces}`: one item or a batch, stored with an expiry. */
import { CONTEXT_KINDS, type ContextKind, type Deploy, ingestContext, NotFoundError } from '@incident-pilot/core';
import { forwardDeploys } from './lib/change-events.js';
import { type HttpRequest, httpHandler, json } from './lib/http.js';

export async function contextRoute({ event, root, body, receivedAt }: HttpRequest) {
  const kind = event.pathParameters?.kind ?? '';
  if (!(CONTEXT_KINDS as readonly string[]).includes(kind)) {
    throw new NotFoundError(`unknown context kind "${kind}"; expected one of ${CONTEXT_KINDS.join(', ')}`);
  }
  const expiresAt = Math.floor(root.now() / 1000 + root.env.INCIDENT_PILOT_CONTEXT_TTL_HOURS * 3600);
  const { stored, items } = await ingestContext(
    { store: root.store, queue: root.queue, pacing: root.pacing },
    kind as ContextKind,
    body,
    receivedAt,
    expiresAt,
  );
  if (kind === 'deploys') await forwardDeploys(root, items as Deploy[]);
  return json(202, { status: 'accepted', stored });
}

export const handler = httpHandler(contextRoute);
