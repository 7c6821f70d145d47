/**
 * The dead man's switch. Alertmanager's always-firing `Watchdog` alert, routed here, is a heartbeat:
 * recorded, never an incident. When heartbeats stop for longer than the configured time, the check
 * ingests a synthetic firing alert (its own group) so that the normal pipeline opens and announces an
 * incident; when they come back it ingests the same alert resolved, and the incident resolves.
 */
import { fnv64 } from '../hash.js';
import type { HeartbeatRepository } from '../ports.js';
import type { AlertGroup, AlertInstance } from '../schemas/alertmanager.js';
import { ingestAlerts } from './ingest.js';

export const HEARTBEAT_MISSING_ALERTNAME = 'AlertmanagerHeartbeatMissing';
export const HEARTBEAT_SERVICE = 'alertmanager';
/** The synthetic alert's own group: one open incident at a time, never mixed with real alerts. */
export const HEARTBEAT_GROUP_KEY = 'incident-pilot/heartbeat-missing';

/**
 * Takes the heartbeat alerts (alertname `alertname`) out of the groups. Only firing ones count: a
 * resolved Watchdog means Prometheus stopped evaluating it, which is what the check is there to catch.
 */
export function splitHeartbeats(groups: AlertGroup[], alertname: string): { groups: AlertGroup[]; heartbeats: number } {
  let heartbeats = 0;
  const rest: AlertGroup[] = [];
  for (const group of groups) {
    const others = group.alerts.filter((a) => a.alertname !== alertname);
    heartbeats += group.alerts.filter((a) => a.alertname === alertname && a.status === 'firing').length;
    if (others.length === group.alerts.length) rest.push(group);
    else if (others.length > 0) rest.push({ ...group, alerts: others });
  }
  return { groups: rest, heartbeats };
}

export type HeartbeatCheck = 'armed' | 'ok' | 'missing' | 'opened' | 'recovered';

/** What ingest needs, and the heartbeat item. */
export type HeartbeatDeps = Parameters<typeof ingestAlerts>[0] & { heartbeats: HeartbeatRepository };

/**
 * One run of the check (every minute). Idempotent: the synthetic alert's `startsAt` is derived from the
 * last heartbeat, so a repeated run is a duplicate delivery, which ingest drops.
 */
export async function checkHeartbeat(
  deps: HeartbeatDeps,
  options: { nowMs: number; minutes: number; alertname: string },
): Promise<HeartbeatCheck> {
  const state = await deps.heartbeats.getHeartbeat();
  const now = new Date(options.nowMs).toISOString();
  const since = later(state.lastAt, state.armedAt);
  if (!since) {
    // Nothing heard yet: start waiting for the first heartbeat now.
    await deps.heartbeats.updateHeartbeat({ armedAt: now });
    return 'armed';
  }
  const limitMs = options.minutes * 60_000;
  const overdue = options.nowMs - Date.parse(since) > limitMs;
  // Only a heartbeat newer than the one the gap was measured from ends it: a clock stepped back is
  // no heartbeat (a resolution then would leave the next gap a duplicate of this one, never opened).
  const returned =
    state.missingSince === null ||
    (state.lastAt !== null && Date.parse(state.lastAt) + limitMs > Date.parse(state.missingSince));
  if (overdue || !returned) {
    const startsAt = state.missingSince ?? new Date(Date.parse(since) + limitMs).toISOString();
    await ingestAlerts(deps, [missingGroup('firing', startsAt, null, options)], now);
    if (state.missingSince) return 'missing';
    await deps.heartbeats.updateHeartbeat({ missingSince: startsAt });
    return 'opened';
  }
  if (!state.missingSince) return 'ok';
  await ingestAlerts(deps, [missingGroup('resolved', state.missingSince, state.lastAt ?? now, options)], now);
  await deps.heartbeats.updateHeartbeat({ missingSince: null });
  return 'recovered';
}

/** The later of two times, either maybe absent. */
const later = (a: string | null, b: string | null) =>
  a === null || (b !== null && Date.parse(b) > Date.parse(a)) ? b : a;

function missingGroup(
  status: AlertInstance['status'],
  startsAt: string,
  endsAt: string | null,
  options: { minutes: number; alertname: string },
): AlertGroup {
  const labels = { alertname: HEARTBEAT_MISSING_ALERTNAME, service: HEARTBEAT_SERVICE, severity: 'critical' };
  const annotations = {
    summary: 'Alertmanager heartbeat missing',
    description:
      `No ${options.alertname} alert for more than ${options.minutes} min: Alertmanager (or Prometheus, or the ` +
      'route to incident-pilot) may be down, and alerts may not be reaching anyone.',
  };
  return {
    groupKey: HEARTBEAT_GROUP_KEY,
    status,
    receiver: 'incident-pilot',
    externalURL: '',
    truncatedAlerts: 0,
    groupLabels: { alertname: HEARTBEAT_MISSING_ALERTNAME },
    commonLabels: labels,
    commonAnnotations: annotations,
    alerts: [
      {
        fingerprint: fnv64(HEARTBEAT_GROUP_KEY),
        status,
        startsAt,
        endsAt,
        labels,
        annotations,
        generatorURL: '',
        service: HEARTBEAT_SERVICE,
        alertname: HEARTBEAT_MISSING_ALERTNAME,
      },
    ],
  };
}
