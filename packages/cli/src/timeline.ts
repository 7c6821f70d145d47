/**
 * `incident-pilot correlate --timeline <file>`: replays an ordered list of alert and context events
 * through the same lifecycle the worker runs (fold alerts, re-correlate at each event's time, record
 * what changed, pace updates) and lists every notification the incident would have sent. Pure: no
 * store, queue or clock.
 */
import {
  type AlertRecord,
  applyAlerts,
  type ContextWindow,
  correlate,
  type EngineConfig,
  groupFromRecords,
  groupIdOf,
  groupOfIncident,
  type Incident,
  type IncidentChange,
  incidentIdOf,
  newIncident,
  parseAlertPayload,
  recordChanges,
  rules,
  toOpenIncidentRef,
} from '@incident-pilot/core';

/** One event of a timeline file: alerts as `POST /alerts` takes them, or context items. */
export interface TimelineEvent {
  at: string;
  alerts?: unknown;
  deploys?: ContextWindow['deploys'];
  logs?: ContextWindow['logs'];
  traces?: ContextWindow['traces'];
}

/** A notification the replay would have sent. */
export interface ReplayedNotification {
  at: string;
  type: 'opened' | 'updated' | 'resolved';
  incident: Incident;
  revision?: number;
  changes?: IncidentChange[];
}

export function replayTimeline(
  events: readonly TimelineEvent[],
  config: EngineConfig,
  updateMinMs: number,
): ReplayedNotification[] {
  const context: ContextWindow = { deploys: [], logs: [], traces: [] };
  const incidents = new Map<string, Incident>();
  const sequence = new Map<string, number>();
  const wakes = new Map<string, number>();
  const out: ReplayedNotification[] = [];

  const correlateAt = (group: Parameters<typeof correlate>[0]['group'], atMs: number) =>
    correlate({
      group,
      context,
      openIncidents: [...incidents.values()].filter((i) => i.status === 'open').map(toOpenIncidentRef),
      config,
      rules,
      at: atMs,
    });

  /** Records `after` as the incident's new state at `atMs` and lists what it announces. */
  const settle = (before: Incident, after: Incident, atMs: number) => {
    const { incident, wakeAt } = recordChanges(before, after, atMs, updateMinMs);
    incidents.set(incident.groupKey, incident);
    if (wakeAt === null) wakes.delete(incident.groupKey);
    else wakes.set(incident.groupKey, wakeAt);
    const at = new Date(atMs).toISOString();
    const update = incident.lastUpdate;
    if (update && update.revision !== before.lastUpdate?.revision) {
      out.push({ at, type: 'updated', incident, revision: update.revision, changes: update.changes });
    }
    if (incident.status === 'resolved' && before.status === 'open') out.push({ at, type: 'resolved', incident });
  };
  /** Re-correlates `incident` at `atMs`; what changed is measured from `before` (the state before new alerts folded in). */
  const refresh = (incident: Incident, atMs: number, before = incident) => {
    if (incident.status !== 'open') return;
    const correlation = correlateAt(groupOfIncident(incident), atMs);
    settle(before, { ...incident, findings: correlation.findings, severity: correlation.severity }, atMs);
  };
  /** Pending updates whose rate limit ran out before `untilMs` go out at that moment. */
  const wakeUntil = (untilMs: number) => {
    for (const [groupKey, wakeAt] of [...wakes].sort((a, b) => a[1] - b[1])) {
      const incident = incidents.get(groupKey);
      if (wakeAt <= untilMs && incident) settle(incident, incident, wakeAt);
    }
  };

  const ordered = events.map((e, i) => ({ e, i, ms: Date.parse(e.at) })).sort((a, b) => a.ms - b.ms || a.i - b.i);
  for (const { e, ms } of ordered) {
    wakeUntil(ms);
    const services = new Set<string>();
    for (const kind of ['deploys', 'logs', 'traces'] as const) {
      for (const item of e[kind] ?? []) {
        const stamped = 'when' in item ? item : { ...item, timestamp: item.timestamp ?? e.at };
        (context[kind] as (typeof stamped)[]).push(stamped);
        services.add(item.service);
      }
    }
    for (const incident of [...incidents.values()]) if (services.has(incident.service)) refresh(incident, ms);
    if (e.alerts === undefined) continue;
    for (const group of parseAlertPayload(e.alerts, e.at)) {
      const records: AlertRecord[] = group.alerts.map((alert) => ({
        ...alert,
        groupKey: group.groupKey,
        groupId: groupIdOf(group.groupKey),
        receivedAt: e.at,
        truncatedAlerts: group.truncatedAlerts,
        groupStatus: group.status,
      }));
      const current = incidents.get(group.groupKey);
      if (current?.status === 'open') {
        const folded = applyAlerts(current, records, 'all').incident;
        if (folded.status === 'open') refresh(folded, ms, current);
        else settle(current, folded, ms);
        continue;
      }
      if (!records.some((r) => r.status === 'firing')) continue;
      const seq = (sequence.get(group.groupKey) ?? 0) + 1;
      sequence.set(group.groupKey, seq);
      const opened = applyAlerts(
        newIncident({
          id: incidentIdOf(group.groupKey, seq),
          group: groupFromRecords(records),
          correlation: correlateAt(groupFromRecords(records), ms),
          openedAt: e.at,
          previousIncidentId: current?.id ?? null,
        }),
        records,
        'all',
      ).incident;
      incidents.set(group.groupKey, opened);
      out.push({ at: new Date(ms).toISOString(), type: 'opened', incident: opened });
    }
  }
  wakeUntil(Number.POSITIVE_INFINITY);
  return out;
}
