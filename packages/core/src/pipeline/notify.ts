/**
 * Delivery of an incident's events to the sinks, each (incident, event[, revision], sink) at most
 * once behind an idempotency marker: claim → send → mark sent.
 */
import { TransientError } from '../errors.js';
import type {
  IncidentEvent,
  IncidentEventType,
  Logger,
  NotificationKey,
  Sink,
  StatsRepository,
  Store,
} from '../ports.js';
import type { Incident } from '../schemas/incident.js';

export interface NotifyDeps {
  store: Store;
  sinks: readonly Sink[];
  log: Logger;
  /** A notification claim older than this is taken to be abandoned by a crashed worker. */
  notificationLeaseMs?: number;
  /**
   * Where the job's notification counts go, best effort (default: the store). The worker sums the
   * counts of a batch's jobs and writes them once.
   */
  counters?: Pick<StatsRepository, 'addStats'>;
}

/**
 * The events an incident owes its sinks, in the order each sink must get them: opened, the latest
 * update while it is open (an update superseded before a sink got it is skipped: the next one carries
 * the current state), resolved.
 */
export function eventsOf(incident: Incident): IncidentEvent[] {
  const events: IncidentEvent[] = [{ type: 'opened', incident }];
  const update = incident.lastUpdate;
  if (incident.status === 'open' && update) {
    events.push({ type: 'updated', incident, revision: update.revision, changes: update.changes });
  }
  if (incident.status === 'resolved') events.push({ type: 'resolved', incident });
  return events;
}

/** The name of the internal sink that keeps the incident counters of `/api/stats`. */
export const STATS_SINK = 'stats';

/**
 * Counts incidents opened and resolved. As a sink behind the idempotency markers, each incident is
 * counted once per event across retries and failures (a crash between the count and its marker can
 * count it once more after the claim's lease), instead of drifting whenever a write fails.
 */
export function statsSink(store: StatsRepository): Sink {
  return {
    name: STATS_SINK,
    events: ['opened', 'resolved'],
    async deliver({ type }) {
      if (type === 'opened') await store.addStats({ incidentsOpened: 1 });
      if (type === 'resolved') await store.addStats({ incidentsResolved: 1 });
    },
  };
}

async function recordSent(deps: NotifyDeps, key: NotificationKey, nowMs: number): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await deps.store.completeNotification(key, nowMs);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
  return false;
}

const markerOf = (key: NotificationKey) => `${key.incidentId}:${key.event}.${key.revision ?? ''}#${key.sink}`;
const takes = (sink: Sink, type: IncidentEventType) => !sink.events || sink.events.includes(type);
const keyOf = (event: IncidentEvent, sink: Sink): NotificationKey => ({
  incidentId: event.incident.id,
  event: event.type,
  sink: sink.name,
  ...(event.revision === undefined ? {} : { revision: event.revision }),
});

async function sentMarkers(deps: NotifyDeps, incident: Incident): Promise<Set<string>> {
  return new Set((await deps.store.sentNotifications(incident.id, incident.lastUpdate?.revision)).map(markerOf));
}

export interface NotifyOptions {
  /**
   * The group's incident before this one. The group can fire again before its resolution reached every
   * sink (a sink was down, a worker died): what it still owes goes first, to each sink that had its
   * `opened` (one configured since is owed nothing of it). Read only while a sink has not had this
   * incident's `opened`: a sink that has, had everything before it.
   */
  previous?: () => Promise<Incident | null>;
  /**
   * Events a sink must not get yet (a mute), asked only of events it has not had; nothing after them
   * either, so they keep their order.
   */
  held?: (sink: Sink, event: IncidentEvent) => boolean | Promise<boolean>;
}

/**
 * Delivers each event the incident owes to each sink (after what the group's previous incident still
 * owes it, see NotifyOptions), in order per sink. A failing sink never blocks the others; its
 * failures are returned so the job is retried (a TransientError carries the sink's Retry-After).
 * What was sent already is read first (one read per incident), so a later job claims only what is still owed.
 */
export async function notify(
  deps: NotifyDeps,
  incident: Incident,
  nowMs: number,
  options: NotifyOptions = {},
): Promise<Error[]> {
  const failures: Error[] = [];
  const lease = deps.notificationLeaseMs ?? 60_000;
  let events = eventsOf(incident);
  const sent = await sentMarkers(deps, incident);
  const hadOpened = (sink: Sink, of: Incident) =>
    !takes(sink, 'opened') || sent.has(markerOf(keyOf({ type: 'opened', incident: of }, sink)));
  // The sinks owed what the previous incident still owes: those that had its opened or have it on its way.
  const owedPrevious = new Set<string>();
  if (options.previous && deps.sinks.some((s) => !hadOpened(s, incident))) {
    const previous = await options.previous();
    if (previous) {
      for (const marker of await sentMarkers(deps, previous)) sent.add(marker);
      events = [...eventsOf(previous), ...events];
      // That read may lag and shows only what was sent: a sink it shows without the opened is asked
      // again, strongly consistent. One still on its way (or abandoned) is claimed below like any other,
      // so its resolution follows it; only a sink that never had it (configured since) is owed nothing.
      await Promise.all(
        deps.sinks.map(async (sink) => {
          if (
            hadOpened(sink, previous) ||
            (await deps.store.notificationState(keyOf({ type: 'opened', incident: previous }, sink))) !== null
          ) {
            owedPrevious.add(sink.name);
          }
        }),
      );
    }
  }
  const counts = { notificationsSent: 0, notificationsFailed: 0 };
  await Promise.all(
    deps.sinks.map(async (sink) => {
      for (const event of events) {
        if (!takes(sink, event.type)) continue;
        if (event.incident !== incident && !owedPrevious.has(sink.name)) continue;
        const key = keyOf(event, sink);
        if (sent.has(markerOf(key))) continue;
        if (await options.held?.(sink, event)) return;
        const label = `${sink.name}: ${event.type}${event.revision ? ` #${event.revision}` : ''} of ${key.incidentId}`;
        // The last update may still be on its way to this sink from a worker that folded it before the
        // incident resolved: the resolution waits for it, or takes its marker so that it never goes out.
        const update = event.type === 'resolved' ? event.incident.lastUpdate : undefined;
        if (update && takes(sink, 'updated')) {
          const superseded = keyOf({ type: 'updated', incident: event.incident, revision: update.revision }, sink);
          const prior = sent.has(markerOf(superseded))
            ? 'already_sent'
            : await deps.store.claimNotification(superseded, nowMs, lease);
          if (prior === 'in_flight') {
            failures.push(new TransientError(`${label} waits for update #${update.revision}`, Math.ceil(lease / 1000)));
            return;
          }
          // Taken: marked done unsent (the resolution says it all), so a late worker skips it.
          if (prior === 'claimed' && !(await recordSent(deps, superseded, nowMs))) {
            failures.push(new TransientError(`${label} waits for update #${update.revision} to be closed`));
            return;
          }
        }
        const claim = await deps.store.claimNotification(key, nowMs, lease);
        if (claim === 'already_sent') continue;
        if (claim === 'in_flight') {
          // Come back when that claim's lease has run out, if its worker has not finished by then.
          failures.push(new TransientError(`${label} is being sent by another worker`, Math.ceil(lease / 1000)));
          return;
        }
        try {
          await sink.deliver(event);
        } catch (error) {
          // A sink that cannot tell whether it delivered (a timeout) keeps its claim until the lease
          // runs out, so a quick retry cannot send the same message twice.
          if (!(error instanceof TransientError && error.ambiguous)) await deps.store.releaseNotification(key, nowMs);
          if (sink.name !== STATS_SINK) counts.notificationsFailed += 1;
          deps.log.warn('notification failed', {
            sink: sink.name,
            event: event.type,
            incidentId: key.incidentId,
            error: String(error),
          });
          failures.push(error instanceof Error ? error : new Error(String(error)));
          // Later events must not overtake this one on this sink.
          return;
        }
        // Sent: never release the claim now (a retry would send it twice); record it, trying hard.
        if (!(await recordSent(deps, key, nowMs))) {
          failures.push(new TransientError(`${label} was sent but not recorded`));
          return;
        }
        if (sink.name !== STATS_SINK) counts.notificationsSent += 1;
      }
    }),
  );
  // Best effort: one write for the whole job, or the batch.
  await (deps.counters ?? deps.store).addStats(counts).catch(() => undefined);
  return failures;
}
