/** `POST /alerts`: an Alertmanager webhook (or bare alert) → alert records → one correlation job per group. */
import { ingestAlerts, parseAlertPayload } from '@incident-pilot/core';
import { type HttpRequest, httpHandler, json } from './lib/http.js';

export async function alertsRoute({ root, body, receivedAt }: HttpRequest) {
  const groups = parseAlertPayload(body, receivedAt);
  const result = await ingestAlerts({ store: root.store, queue: root.queue, pacing: root.pacing }, groups, receivedAt);
  return json(202, { status: 'accepted', ...result });
}

export const handler = httpHandler(alertsRoute);
