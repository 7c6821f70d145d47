/**
 * Pacing of living incidents: when re-correlation and `updated` notifications may happen. A wake-up
 * is a delayed job on the queue; a marker per group (RefreshRepository) keeps a flood of triggers to a
 * few jobs per interval.
 */
import { type JobQueue, MAX_JOB_DELAY_SECONDS, type RefreshRepository } from '../ports.js';

export interface Pacing {
  /** At most one re-correlation per incident per this long (env INCIDENT_PILOT_REFRESH_SECONDS). */
  refreshMs: number;
  /** At most one `updated` notification per incident per this long (INCIDENT_PILOT_UPDATE_MIN_SECONDS). */
  updateMinMs: number;
  /** No refreshes once an incident has been open this long, unless its alerts change. */
  refreshForMs: number;
}

export const defaultPacing: Pacing = { refreshMs: 60_000, updateMinMs: 300_000, refreshForMs: 24 * 3_600_000 };

// Triggers that arrive together (a log shipper's batches) share one job this much later.
const MAX_COALESCE_MS = 5_000;

type Deps = { store: RefreshRepository; queue: JobQueue };

/** Queues the claimed wake-up; if that fails, gives the claim back so the caller's retry can claim it. */
async function enqueueWake(deps: Deps, groupId: string, atMs: number, nowMs: number): Promise<void> {
  try {
    await deps.queue.enqueue({ groupId, enqueuedAt: new Date(nowMs).toISOString() }, (atMs - nowMs) / 1000);
  } catch (error) {
    await deps.store.releaseWake(groupId, atMs).catch(() => undefined);
    throw error;
  }
}

/** Makes sure a job for the group runs at `atMs` (or earlier); a no-op when one is already due by then. */
export async function scheduleWake(deps: Deps, groupId: string, atMs: number, nowMs: number): Promise<void> {
  const at = Math.max(atMs, nowMs);
  // A wake-up beyond SQS's longest delay is reached in steps: the early job schedules the next.
  const delayMs = Math.min(at - nowMs, MAX_JOB_DELAY_SECONDS * 1000);
  if (await deps.store.claimWake(groupId, nowMs + delayMs, nowMs, nowMs + delayMs)) {
    await enqueueWake(deps, groupId, nowMs + delayMs, nowMs);
  }
}

/**
 * Asks for a re-correlation of the group's open incident soon (a re-send by Alertmanager, new context
 * for its service). Triggers within the refresh interval of a pending wake-up are absorbed by it.
 */
export async function requestRefresh(deps: Deps, groupId: string, nowMs: number, pacing: Pacing): Promise<void> {
  const at = nowMs + Math.min(MAX_COALESCE_MS, pacing.refreshMs);
  if (await deps.store.claimWake(groupId, at, nowMs, nowMs + pacing.refreshMs)) {
    await enqueueWake(deps, groupId, at, nowMs);
  }
}
