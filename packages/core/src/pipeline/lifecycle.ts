import type { Correlation } from '../engine/engine.js';
import { fnv64 } from '../hash.js';
import type { AlertRecord, OverflowDelta } from '../ports.js';
import { type AlertGroup, groupAlertname } from '../schemas/alertmanager.js';
import type { Incident, IncidentAlert } from '../schemas/incident.js';
import { announcedOf } from './changes.js';

/** When an incident resolves: once every alert has resolved, or as soon as any has. */
export type ResolvePolicy = 'all' | 'any';

/** Incident ids are derived from the group and its sequence number, so a retried job finds its own incident. */
export function incidentIdOf(groupKey: string, seq: number): string {
  return `inc-${fnv64(`${groupKey}#${seq}`).slice(0, 12)}`;
}

const ms = (ts: string | null) => (ts === null ? Number.POSITIVE_INFINITY : Date.parse(ts));
const maxIso = (a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : a);

/** Labels every alert of a group shares anyway; an incident's alert entry leaves them out. */
const GROUP_LABELS = new Set(['alertname', 'service', 'severity', 'team']);
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

// An incident is one DynamoDB item (at most 400 KB) listing the alerts of its group, so it stays
// small whatever the group's size: each entry keeps the labels that tell the alerts apart (shortened)
// and a one-line summary, only the first DETAILED_ALERTS keep even those, and at most
// MAX_TRACKED_ALERTS are listed. Alerts past that are kept as one small item each outside the incident
// (see `OverflowRepository`), which only holds their counts; such an incident resolves when the group
// does, as with `max_alerts`.
export const MAX_TRACKED_ALERTS = 50;
const DETAILED_ALERTS = 20;

/**
 * Splits records into those the incident lists (alerts it holds, and new ones while there is room)
 * and the overflow: new alerts past MAX_TRACKED_ALERTS, oldest first.
 */
export function splitOverflow(
  incident: Incident,
  records: AlertRecord[],
): { listed: AlertRecord[]; overflow: AlertRecord[] } {
  const listed = new Set(incident.alerts.map((a) => a.fingerprint));
  let room = MAX_TRACKED_ALERTS - incident.alerts.length;
  const out = { listed: [] as AlertRecord[], overflow: [] as AlertRecord[] };
  for (const record of [...records].sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt))) {
    if (!listed.has(record.fingerprint) && room > 0) {
      listed.add(record.fingerprint);
      room -= 1;
    }
    (listed.has(record.fingerprint) ? out.listed : out.overflow).push(record);
  }
  return out;
}

/**
 * The group's common labels as an incident keeps them (for re-correlation): the ones the engine reads
 * (alertname, service, severity, team) and a few others, shortened, so any group fits one item.
 */
export function keptLabels(labels: Record<string, string>): Record<string, string> {
  const engine = Object.entries(labels).filter(([name]) => GROUP_LABELS.has(name));
  const others = Object.entries(labels)
    .filter(([name]) => !GROUP_LABELS.has(name))
    .slice(0, 8);
  return Object.fromEntries([...engine, ...others].map(([name, value]) => [name, clip(value, 256)]));
}

function entryOf(record: AlertRecord): IncidentAlert {
  const labels = Object.entries(record.labels)
    .filter(([name]) => !GROUP_LABELS.has(name))
    .slice(0, 8)
    .map(([name, value]) => [name, clip(value, 128)]);
  return {
    fingerprint: record.fingerprint,
    startsAt: record.startsAt,
    endsAt: record.status === 'resolved' ? record.endsAt : null,
    status: record.status,
    labels: Object.fromEntries(labels),
    summary: clip(record.annotations.summary ?? record.annotations.description ?? record.alertname, 200),
    lastSeenAt: record.receivedAt,
  };
}

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

/**
 * True when the record is about an alert the closed incident already holds (not a later recurrence of
 * it). An alert still firing when the incident closed (resolved by hand, or under policy `any`) ended
 * with it: what starts after that is a recurrence.
 */
export function belongsTo(incident: Incident, record: AlertRecord): boolean {
  const listed = incident.alerts.some(
    (a) => a.fingerprint === record.fingerprint && Date.parse(record.startsAt) <= ms(a.endsAt ?? incident.resolvedAt),
  );
  // Overflow alerts are not listed: one that started before the incident closed was part of it.
  return listed || ((incident.overflowCount ?? 0) > 0 && Date.parse(record.startsAt) <= ms(incident.resolvedAt));
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
 *
 * An alert is its fingerprint, as in Alertmanager: when Alertmanager moves a firing alert's
 * `startsAt` earlier (HA Prometheus pairs, senders without `startsAt`), it is still the same alert,
 * and a resolution closes every firing entry of its fingerprint that started before it ended.
 */
export function applyAlerts(
  incident: Incident,
  records: AlertRecord[],
  policy: ResolvePolicy,
  overflowDelta: OverflowDelta = { added: 0, resolved: 0 },
): Applied {
  if (incident.status === 'resolved') return { incident, resolvedNow: false };
  const alerts: IncidentAlert[] = incident.alerts.map((a) => ({ ...a }));
  const overflowCount = (incident.overflowCount ?? 0) + overflowDelta.added;
  const overflowResolved = (incident.overflowResolvedCount ?? 0) + overflowDelta.resolved;
  let lastSeenAt = incident.lastSeenAt;
  let latest: AlertRecord | undefined;
  // Oldest first, so a resolved record wins over the firing record of the same alert.
  const ordered = [...records].sort(
    (a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || a.status.localeCompare(b.status),
  );
  // Overflow alerts are counted by the caller (`overflowDelta`); here they only date the group.
  const overflow = new Set(splitOverflow(incident, records).overflow);
  for (const record of ordered) {
    lastSeenAt = maxIso(lastSeenAt, record.receivedAt);
    if (!latest || Date.parse(record.receivedAt) >= Date.parse(latest.receivedAt)) latest = record;
    if (overflow.has(record)) continue;
    const same = alerts.filter((a) => a.fingerprint === record.fingerprint);
    const firing = same.filter((a) => a.status === 'firing');
    if (record.status === 'firing') {
      for (const entry of firing) {
        if (Date.parse(record.startsAt) < Date.parse(entry.startsAt)) entry.startsAt = record.startsAt;
        entry.lastSeenAt = maxIso(entry.lastSeenAt, record.receivedAt);
      }
      // A firing record that began before a resolution we already have is stale (e.g. a lagging HA peer).
      const stale = same.some((a) => a.status === 'resolved' && Date.parse(record.startsAt) <= ms(a.endsAt));
      if (firing.length === 0 && !stale) {
        // Fired again after it resolved: the new occurrence takes the place of the old one, so an alert
        // that flaps for days is still one entry of an incident that must fit one item.
        for (const old of same) alerts.splice(alerts.indexOf(old), 1);
        alerts.push(entryOf(record));
      }
      continue;
    }
    const closing = firing.filter((a) => Date.parse(a.startsAt) <= ms(record.endsAt));
    for (const entry of closing) {
      entry.status = 'resolved';
      entry.endsAt = record.endsAt;
      entry.lastSeenAt = maxIso(entry.lastSeenAt, record.receivedAt);
    }
    // A resolution of an occurrence the incident no longer lists (a later one replaced it) is stale.
    if (same.length === 0) alerts.push(entryOf(record));
  }
  const list = alerts
    .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint))
    .map((a, i) => (i < DETAILED_ALERTS ? a : { ...a, labels: {}, summary: '' }));
  const resolvedAlerts = list.filter((a) => a.status === 'resolved');
  const truncatedAlerts = latest?.truncatedAlerts ?? incident.truncatedAlerts;
  // With `max_alerts`, or past what one incident lists, alerts we cannot see may still fire: only the
  // group's own status can tell.
  const unseenStillFiring = (truncatedAlerts > 0 || overflowCount > 0) && latest?.groupStatus !== 'resolved';
  const resolves =
    list.length > 0 &&
    (policy === 'any'
      ? resolvedAlerts.length + overflowResolved > 0
      : resolvedAlerts.length === list.length && !unseenStillFiring);
  const ends = resolvedAlerts.map((a) => a.endsAt ?? a.lastSeenAt);
  // Only overflow alerts resolved (policy `any`): the notification that said so is the time.
  const resolvedAt = resolves ? (ends.length > 0 ? ends.reduce(maxIso) : lastSeenAt) : null;
  return {
    resolvedNow: resolves,
    incident: {
      ...incident,
      alerts: list,
      alertCount: list.length + overflowCount,
      firingCount: list.length - resolvedAlerts.length + (resolves ? 0 : overflowCount - overflowResolved),
      resolvedAlertCount: resolvedAlerts.length + (resolves ? overflowCount : overflowResolved),
      lastSeenAt,
      truncatedAlerts,
      ...(overflowCount > 0 ? { overflowCount, overflowResolvedCount: overflowResolved } : {}),
      status: resolves ? 'resolved' : 'open',
      resolvedAt,
      resolution: resolves ? (policy === 'any' ? 'any_alert_resolved' : 'all_alerts_resolved') : null,
    },
  };
}

/** A new open incident for a group, from its first correlation; alerts are folded in by applyAlerts. */
export function newIncident(input: {
  id: string;
  group: AlertGroup;
  correlation: Correlation;
  openedAt: string;
  previousIncidentId: string | null;
}): Incident {
  const { correlation, openedAt } = input;
  return {
    id: input.id,
    status: 'open',
    severity: correlation.severity,
    service: correlation.service,
    alertname: groupAlertname(input.group),
    title: correlation.title,
    team: correlation.team,
    groupKey: input.group.groupKey,
    openedAt,
    resolvedAt: null,
    resolution: null,
    lastSeenAt: openedAt,
    alertCount: 0,
    firingCount: 0,
    resolvedAlertCount: 0,
    truncatedAlerts: 0,
    alerts: [],
    findings: correlation.findings,
    narration: '',
    previousIncidentId: input.previousIncidentId,
    commonLabels: keptLabels(input.group.commonLabels),
    timeline: [{ at: openedAt, type: 'opened', summary: correlation.title }],
    // The opened message tells people these: the first update is measured from them.
    announced: announcedOf({ severity: correlation.severity, findings: correlation.findings }),
    version: 1,
  };
}

/** The group as the engine sees it, rebuilt from what the incident keeps (for a re-correlation). */
export function groupOfIncident(incident: Incident): AlertGroup {
  const common = incident.commonLabels ?? { alertname: incident.alertname, service: incident.service };
  return {
    groupKey: incident.groupKey,
    status: incident.firingCount > 0 ? 'firing' : 'resolved',
    receiver: '',
    externalURL: '',
    truncatedAlerts: incident.truncatedAlerts,
    groupLabels: {},
    commonLabels: common,
    commonAnnotations: {},
    alerts: incident.alerts.map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      labels: { ...common, ...a.labels },
      annotations: a.summary ? { summary: a.summary } : ({} as Record<string, string>),
      generatorURL: '',
      service: incident.service,
      alertname: incident.alertname,
    })),
  };
}
