/**
 * The dead man's switch, run every minute (EventBridge Scheduler in AWS, a timer in the local stack):
 * opens the "Alertmanager heartbeat missing" incident when no heartbeat arrived for
 * `INCIDENT_PILOT_HEARTBEAT_MINUTES`, and resolves it when heartbeats return.
 */
import { checkHeartbeat, type HeartbeatCheck } from '@incident-pilot/core';
import middy from '@middy/core';
import { getRoot, type Root } from './lib/composition.js';

export async function heartbeatRoute(root: Root = getRoot()): Promise<{ check: HeartbeatCheck | 'off' }> {
  const minutes = root.env.INCIDENT_PILOT_HEARTBEAT_MINUTES;
  if (!minutes) return { check: 'off' };
  try {
    const check = await checkHeartbeat(
      { heartbeats: root.heartbeats, store: root.store, queue: root.queue, pacing: root.pacing },
      { nowMs: root.now(), minutes, alertname: root.env.INCIDENT_PILOT_HEARTBEAT_ALERTNAME },
    );
    // Every minute: only the changes are worth a line.
    if (check !== 'ok') root.log.info('heartbeat check', { check, minutes });
    return { check };
  } finally {
    root.metrics.flush();
  }
}

/**
 * Starts the wait for a heartbeat anew: the local stack does on start, so that a night with `npm start`
 * stopped does not open "heartbeat missing" before Alertmanager's next Watchdog. (In AWS the check
 * never stops.)
 */
export async function rearmHeartbeat(root: Root = getRoot()): Promise<void> {
  if (!root.env.INCIDENT_PILOT_HEARTBEAT_MINUTES) return;
  await root.heartbeats.updateHeartbeat({ armedAt: new Date(root.now()).toISOString() });
}

export const handler = middy(() => heartbeatRoute());
