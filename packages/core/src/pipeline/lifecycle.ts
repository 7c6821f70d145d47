import { fnv64 } from '../hash.js';
import type { AlertRecord } from '../ports.js';
import type { AlertGroup } from '../schemas/alertmanager.js';
import type { Incident, IncidentAlert } from '../schemas/incident.js';

/** When an incident resolves: once every alert has resolved, or as soon as any has. */
export type ResolvePolicy = 'all' | 'any';

/** Incident ids are derived from the group and its sequence number, so a retried job finds its own incident. */
export function incidentIdOf(groupKey: string, seq: number): string {
  return `inc-${fnv64(`${groupKey}#${seq}`).slice(0, 12)}`;
}

const maxIso = (a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : a);
const instanceKey = (a: { fingerprint: string; startsAt: string }) => `${a.fingerprint}@${a.startsAt}`;

function intersect(maps: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)));
}

/** Rebuilds an Alertmanager-like group from stored records, for the engine. */
export function groupFromRecords(records: AlertRecord[]): AlertGroup {
  const first = records[0];
  if (!first) throw new Error('a group has at least one record');
  const latest = records.reduce((a, b) => (Date.parse(b.receivedAt) > Date.parse(a.receivedAt) ? b : a));
  return {
    groupKey: first.groupKey,
    status: latest.groupStatus,
    receiver: '',
    externalURL: '',
    truncatedAlerts: latest.truncatedAlerts,
    groupLabels: {},
    commonLabels: intersect(records.map((r) => r.labels)),
    commonAnnotations: intersect(records.map((r) => r.annotations)),
    alerts: records.map(({ groupKey, groupId, receivedAt, truncatedAlerts, groupStatus, ...alert }) => alert),
  };
}

export interface Applied {
  incident: Incident;
  /** True when this application resolved the incident. */
  resolvedNow: boolean;
}

/**
 * Folds alert records into an incident: new alerts attach (count, last seen), resolved ones close
 * their alert, and the incident resolves per `policy`. Idempotent: applying the same records twice
 * gives the same incident. A resolved incident is returned unchanged: it is never reopened.
 */
export function applyAlerts(incident: Incident, records: AlertRecord[], policy: ResolvePolicy): Applied {
  if (incident.status === 'resolved') return { incident, resolvedNow: false };
  const alerts = new Map<string, IncidentAlert>(incident.alerts.map((a) => [instanceKey(a), { ...a }]));
  let lastSeenAt = incident.lastSeenAt;
  let latest: AlertRecord | undefined;
  // Oldest first, so a resolved record wins over the firing record of the same alert.
  const ordered = [...records].sort(
    (a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || a.status.localeCompare(b.status),
  );
  for (const record of ordered) {
    lastSeenAt = maxIso(lastSeenAt, record.receivedAt);
    if (!latest || Date.parse(record.receivedAt) >= Date.parse(latest.receivedAt)) latest = record;
    const key = instanceKey(record);
    const known = alerts.get(key);
    if (known?.status === 'resolved') continue;
    alerts.set(key, {
      fingerprint: record.fingerprint,
      startsAt: record.startsAt,
      endsAt: record.status === 'resolved' ? record.endsAt : null,
      status: record.status,
      labels: record.labels,
      summary: record.annotations.summary ?? record.annotations.description ?? record.alertname,
      lastSeenAt: maxIso(known?.lastSeenAt ?? record.receivedAt, record.receivedAt),
    });
  }
  const list = [...alerts.values()].sort(
    (a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint),
  );
  const resolvedAlerts = list.filter((a) => a.status === 'resolved');
  const truncatedAlerts = latest?.truncatedAlerts ?? incident.truncatedAlerts;
  // With `max_alerts`, alerts we never saw may still fire: only the group's own status can tell.
  const unseenStillFiring = truncatedAlerts > 0 && latest?.groupStatus !== 'resolved';
  const resolves =
    list.length > 0 &&
    (policy === 'any' ? resolvedAlerts.length > 0 : resolvedAlerts.length === list.length && !unseenStillFiring);
  const resolvedAt = resolves ? resolvedAlerts.map((a) => a.endsAt ?? a.lastSeenAt).reduce(maxIso) : null;
  return {
    resolvedNow: resolves,
    incident: {
      ...incident,
      alerts: list,
      alertCount: list.length,
      firingCount: list.length - resolvedAlerts.length,
      resolvedAlertCount: resolvedAlerts.length,
      lastSeenAt,
      truncatedAlerts,
      status: resolves ? 'resolved' : 'open',
      resolvedAt,
      resolution: resolves ? (policy === 'any' ? 'any_alert_resolved' : 'all_alerts_resolved') : null,
    },
  };
}
