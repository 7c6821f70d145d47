/** `POST /alerts`: an Alertmanager webhook (or bare alert) → alert records → one correlation job per group. */
import { groupIdOf, ingestAlerts, parseAlertPayload, splitHeartbeats } from '@incident-pilot/core';
import { type HttpRequest, httpHandler, json } from './lib/http.js';
import { METRIC } from './lib/metrics.js';

export async function alertsRoute({ root, body, receivedAt, note }: HttpRequest) {
  const { groups, heartbeats } = splitHeartbeats(
    parseAlertPayload(body, receivedAt),
    root.env.INCIDENT_PILOT_HEARTBEAT_ALERTNAME,
  );
  if (heartbeats > 0) {
    await root.heartbeats.recordHeartbeat(receivedAt);
    root.metrics.count(METRIC.heartbeats, heartbeats);
  }
  const result = await ingestAlerts({ store: root.store, queue: root.queue, pacing: root.pacing }, groups, receivedAt);
  // The group ids join this line to the worker's job lines (their correlation id).
  note({
    accepted: result.accepted.length,
    duplicates: result.duplicates,
    heartbeats,
    groupIds: groups.map((g) => groupIdOf(g.groupKey)),
  });
  return json(202, { status: 'accepted', ...result, ...(heartbeats > 0 ? { heartbeats } : {}) });
}

export const handler = httpHandler(alertsRoute);
