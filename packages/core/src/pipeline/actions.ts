/**
 * What people do to an incident from chat: acknowledge, mute, unmute. Each is a small versioned patch
 * next to the worker's fields (see IncidentPatch), retried when the worker wrote in between.
 */
import { ConflictError, NotFoundError } from '../errors.js';
import type { IncidentPatch, IncidentRepository } from '../ports.js';
import type { Actor, Incident } from '../schemas/incident.js';
import { withTimeline } from './changes.js';

/** True while the incident's notifications are muted. */
export function isMuted(incident: Pick<Incident, 'mute'>, nowMs: number): boolean {
  return incident.mute !== undefined && incident.mute !== null && Date.parse(incident.mute.until) > nowMs;
}

/**
 * True when the worker must hold the incident's notifications for now: it is open and muted. The
 * resolution is never held (it ends the noise); held events go out with the first job after the mute.
 */
export function heldByMute(incident: Incident, nowMs: number): boolean {
  return incident.status === 'open' && isMuted(incident, nowMs);
}

/**
 * True when the incident resolved while muted: a sink that never had its `opened` (it was held) is owed
 * nothing of it, then or after the mute, since announcing it would be the noise the mute held back.
 */
export function resolvedWhileMuted(incident: Incident): boolean {
  return (
    incident.status === 'resolved' && incident.resolvedAt !== null && isMuted(incident, Date.parse(incident.resolvedAt))
  );
}

/** The mute a recurrence inherits from the incident before it, while that mute lasts ("mute the group"). */
export function inheritedMute(previous: Incident | null, nowMs: number): Pick<Incident, 'mute'> {
  return previous?.mute && isMuted(previous, nowMs) ? { mute: previous.mute } : {};
}

export interface ActionResult {
  incident: Incident;
  /** False when the action changed nothing (already acknowledged, resolved, not muted…). */
  changed: boolean;
}

async function patchWithRetry(
  store: IncidentRepository,
  id: string,
  decide: (current: Incident) => IncidentPatch | null,
): Promise<ActionResult> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const current = await store.getIncident(id);
    if (!current) throw new NotFoundError(`no incident ${id}`);
    const patch = decide(current);
    if (!patch) return { incident: current, changed: false };
    try {
      return { incident: await store.patchIncident(id, patch, current.version), changed: true };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(`incident ${id} kept changing; try again`);
}

/** Records the first acknowledgement of an open incident; later ones change nothing. */
export function acknowledgeIncident(store: IncidentRepository, id: string, by: Actor, at: string) {
  return patchWithRetry(store, id, (current) =>
    current.status !== 'open' || current.acknowledgedBy
      ? null
      : {
          acknowledgedBy: by,
          acknowledgedAt: at,
          timeline: withTimeline(current, {
            at,
            type: 'acknowledged',
            summary: `acknowledged by ${by.name}`,
            by: by.name,
          }),
        },
  );
}

/** Mutes an open incident's notifications until `until` (a later mute replaces an earlier one). */
export function muteIncident(store: IncidentRepository, id: string, by: Actor, until: string, at: string) {
  return patchWithRetry(store, id, (current) =>
    current.status !== 'open'
      ? null
      : {
          mute: { until, by },
          timeline: withTimeline(current, {
            at,
            type: 'muted',
            summary: `muted until ${until} by ${by.name}`,
            by: by.name,
          }),
        },
  );
}

/** Ends a mute; the caller queues a job so that held notifications go out. */
export function unmuteIncident(store: IncidentRepository, id: string, by: Actor, at: string) {
  return patchWithRetry(store, id, (current) =>
    !current.mute
      ? null
      : {
          mute: null,
          timeline: withTimeline(current, {
            at,
            type: 'unmuted',
            summary: `unmuted by ${by.name}`,
            by: by.name,
          }),
        },
  );
}
