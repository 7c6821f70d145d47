/**
 * An Alertmanager-style alert storm against incident-pilot's HTTP API, and the figures it leaves
 * behind. Shared by `scripts/storm.ts` (full scale, prints a report) and `test/e2e/storm.test.ts`
 * (quick scale, asserts the same invariants). Deliberately not exported from the package index: it
 * is a load tool, not part of the local stack.
 *
 * The storm is delivered the way Alertmanager delivers a burst (see the fixtures' README): each group
 * is notified several times as it grows, every notification listing all of the group's alerts so far;
 * an HA peer sends the same notification again, byte for byte; some notifications are re-sent after a
 * timeout; and once grown, every group is repeated (repeat_interval). Groups are notified in rounds
 * (one group_interval tick each), with bounded concurrency inside a round. The plan is storm-plan.ts;
 * a target in this process, storm-target.ts.
 */
import { type Delivery, type DeliveryKind, planStorm, type StormPlan } from './storm-plan.js';

/** Attempts per delivery on 5xx, timeouts or connection errors, as Alertmanager retries within a flush. */
const ATTEMPTS = 8;
/**
 * The sender gives up on a request after this long and sends it again. Alertmanager's deadline is
 * max(group_interval, 10 s): 5 min with the default group_interval, 10 s with a 2 s one.
 */
const REQUEST_TIMEOUT_MS = 60_000;

export interface StormOptions {
  alerts: number;
  groups: number;
  /** Sends this plan (e.g. a second time) instead of planning a new storm from alerts/groups/seed. */
  plan?: StormPlan;
  /** Deliveries in flight at once. */
  concurrency: number;
  /** The API, e.g. `http://127.0.0.1:9099`. */
  url: string;
  token?: string;
  seed?: number;
  /** Upper bound on the wait for the queue to drain and every incident to be complete. */
  settleTimeoutMs?: number;
  /** Per request; a request without an answer by then is sent again. */
  requestTimeoutMs?: number;
  /** Jobs still queued or in flight (local stack only): the storm is over when this is 0. */
  queueDepth?: () => Promise<number>;
  /** Jobs parked in the dead-letter queue (local stack only). */
  dlqDepth?: () => Promise<number>;
  /** "opened" notifications per incident id, as a fake Slack saw them (local stack only). */
  openedNotifications?: () => Map<string, number>;
  /** Progress lines. */
  log?: (line: string) => void;
}

interface Stats {
  alertsReceived: number;
  duplicatesDropped: number;
  incidentsOpened: number;
  jobsFailed: number;
  notificationsSent: number;
  notificationsFailed: number;
}

interface IncidentSummary {
  id: string;
  groupKey: string;
  alertCount: number;
  openedAt: string;
}

export interface StormReport {
  target: string;
  runId: string;
  alertsSent: number;
  groups: number;
  concurrency: number;
  deliveries: number;
  deliveriesByKind: Record<DeliveryKind, number>;
  /** Alerts listed across all delivered notifications (each growth lists the group so far). */
  alertEntries: number;
  /** Alerts stored for the first time / recognised as already stored: the server's own counts. */
  accepted: number;
  duplicates: number;
  /** The same, as reported in the answers the client received (less when a request timed out). */
  acceptedSeen: number;
  duplicatesSeen: number;
  /** Deliveries answered 4xx (never expected), or failed after every retry. */
  rejected: number;
  failed: number;
  /** Attempts sent again: no answer in time (or connection error), or a 5xx. */
  timeouts: number;
  serverErrors: number;
  /** Alerts listed in attempts that got no answer: the server may or may not have seen them. */
  unansweredEntries: number;
  incidents: number;
  /** From the fake Slack; `null` against a running server (its sinks are its own). */
  openedNotifications: number | null;
  /** Incidents that got more than one "opened" notification. */
  notifiedTwice: number;
  /** Stats deltas, from `/api/stats`. */
  stats: Stats;
  alertsOnIncidents: number;
  /** Groups whose incident(s) do not hold exactly the group's alerts. */
  groupMismatches: string[];
  settled: boolean;
  sendMs: number;
  totalMs: number;
  latencyMs: { p50: number; p95: number; max: number };
  dlqDepth: number | null;
  peakRssMb: number;
  failures: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await run(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Sends the storm, waits (bounded) until it is fully processed, and checks the invariants. */
export async function runStorm(options: StormOptions): Promise<StormReport> {
  const { url, token, concurrency } = options;
  const log = options.log ?? (() => {});
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Alertmanager/0.25.0 (incident-pilot storm)',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as T;
  };

  const plan = options.plan ?? planStorm({ alerts: options.alerts, groups: options.groups, seed: options.seed });
  // Incidents of this storm opened after its plan was made: listing stops at older ones.
  const since = new Date(plan.now - 1000).toISOString();
  const mine = new Set(plan.groupKeys);
  const before = await get<Stats>('/api/stats');
  const deliveries = plan.rounds.flat();
  const byKind: Record<DeliveryKind, number> = { growth: 0, 'ha-duplicate': 0, retry: 0, repeat: 0 };
  for (const d of deliveries) byKind[d.kind] += 1;
  log(`run ${plan.runId}: ${plan.alerts} alerts in ${plan.groups} groups, ${deliveries.length} deliveries`);

  let accepted = 0;
  let duplicates = 0;
  let alertEntries = 0;
  let rejected = 0;
  let failed = 0;
  let timeouts = 0;
  let serverErrors = 0;
  let unansweredEntries = 0;
  const latencies: number[] = [];
  const problems: string[] = [];

  const deliver = async (d: Delivery) => {
    for (let attempt = 1; ; attempt++) {
      const t = performance.now();
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${url}/alerts`, {
          method: 'POST',
          headers,
          body: d.body,
          signal: AbortSignal.timeout(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
        });
        status = res.status;
        text = await res.text();
      } catch (error) {
        text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      latencies.push(performance.now() - t);
      if (status >= 200 && status < 300) {
        const body = JSON.parse(text) as { accepted: string[]; duplicates: number };
        accepted += body.accepted.length;
        duplicates += body.duplicates;
        alertEntries += d.alerts;
        return;
      }
      if (status >= 400 && status < 500) {
        rejected += 1;
        if (problems.length < 5) problems.push(`delivery answered ${status}: ${text.slice(0, 200)}`);
        return;
      }
      // 5xx or no answer: retried, as Alertmanager does within a flush.
      if (attempt >= ATTEMPTS) {
        failed += 1;
        if (problems.length < 5) problems.push(`delivery failed ${ATTEMPTS} times, last: ${status || text}`);
        return;
      }
      if (status === 0) {
        timeouts += 1;
        unansweredEntries += d.alerts;
      } else serverErrors += 1;
      await sleep(Math.min(3000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
    }
  };

  const t0 = performance.now();
  for (const [i, round] of plan.rounds.entries()) {
    await pool(round, concurrency, deliver);
    log(`  round ${i + 1}/${plan.rounds.length}: ${round.length} deliveries sent`);
  }
  const sendMs = performance.now() - t0;

  // Newest first; everything of this run opened after it started, so older pages are skipped.
  const listIncidents = async (): Promise<IncidentSummary[]> => {
    const out: IncidentSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await get<{ incidents: IncidentSummary[]; cursor?: string }>(
        `/api/incidents?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      out.push(...page.incidents.filter((i) => mine.has(i.groupKey)));
      const last = page.incidents.at(-1);
      cursor = last && last.openedAt >= since ? page.cursor : undefined;
    } while (cursor);
    return out;
  };
  const complete = (incidents: IncidentSummary[]) =>
    incidents.length >= plan.groups && incidents.reduce((n, i) => n + i.alertCount, 0) >= plan.alerts;

  const deadline = Date.now() + (options.settleTimeoutMs ?? 120_000);
  let incidents: IncidentSummary[] = [];
  let settled = false;
  let previous = '';
  while (Date.now() < deadline) {
    incidents = await listIncidents();
    const depth = options.queueDepth ? await options.queueDepth() : 0;
    const stats = await get<Stats>('/api/stats');
    // Against a running server the queue is out of reach: wait until the figures stop moving.
    const snapshot = JSON.stringify([incidents.map((i) => i.alertCount), stats]);
    const quiet = options.queueDepth ? depth === 0 : snapshot === previous;
    previous = snapshot;
    if (complete(incidents) && quiet) {
      settled = true;
      break;
    }
    await sleep(options.queueDepth ? 250 : 1000);
  }
  const totalMs = performance.now() - t0;
  const after = await get<Stats>('/api/stats');
  const delta = Object.fromEntries(
    Object.keys(before).map((k) => [k, (after[k as keyof Stats] ?? 0) - (before[k as keyof Stats] ?? 0)]),
  ) as unknown as Stats;

  const byGroup = new Map<string, number>();
  for (const i of incidents) byGroup.set(i.groupKey, (byGroup.get(i.groupKey) ?? 0) + i.alertCount);
  const groupMismatches = plan.groupKeys.flatMap((key, g) => {
    const got = byGroup.get(key) ?? 0;
    return got === plan.perGroup[g] ? [] : [`${key}: ${got} of ${plan.perGroup[g]} alerts`];
  });
  const opened = options.openedNotifications?.();
  const ids = new Set(incidents.map((i) => i.id));
  const openedMine = opened ? [...opened].filter(([id]) => ids.has(id)) : undefined;
  const dlqDepth = options.dlqDepth ? await options.dlqDepth() : null;
  const sorted = [...latencies].sort((a, b) => a - b);

  const report: StormReport = {
    target: url,
    runId: plan.runId,
    alertsSent: plan.alerts,
    groups: plan.groups,
    concurrency,
    deliveries: deliveries.length,
    deliveriesByKind: byKind,
    alertEntries,
    accepted: delta.alertsReceived,
    duplicates: delta.duplicatesDropped,
    acceptedSeen: accepted,
    duplicatesSeen: duplicates,
    rejected,
    failed,
    timeouts,
    serverErrors,
    unansweredEntries,
    incidents: incidents.length,
    openedNotifications: openedMine ? openedMine.reduce((n, [, count]) => n + count, 0) : null,
    notifiedTwice: openedMine ? openedMine.filter(([, count]) => count > 1).length : 0,
    stats: delta,
    alertsOnIncidents: incidents.reduce((n, i) => n + i.alertCount, 0),
    groupMismatches,
    settled,
    sendMs,
    totalMs,
    latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? 0 },
    dlqDepth,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    failures: [],
  };
  report.failures = [...problems, ...checkInvariants(report)];
  return report;
}

/** Every way the storm can show the service misbehaving; empty when all hold. */
export function checkInvariants(r: StormReport): string[] {
  const failures: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  expect(r.rejected === 0, `${r.rejected} deliveries were rejected with a 4xx`);
  expect(r.failed === 0, `${r.failed} deliveries failed after ${ATTEMPTS} attempts`);
  expect(r.settled, 'the queue did not drain / the incidents were not complete before the deadline');
  expect(
    r.accepted === r.alertsSent,
    `the server stored ${r.accepted} alerts; ${r.alertsSent} distinct alerts were sent`,
  );
  // Every answered delivery was counted once; an unanswered attempt may have been processed as well.
  const seen = r.accepted + r.duplicates;
  expect(
    seen >= r.alertEntries && seen <= r.alertEntries + r.unansweredEntries,
    `the server counted ${seen} alerts (stored + duplicates); the deliveries listed ${r.alertEntries}` +
      (r.unansweredEntries ? ` (+ up to ${r.unansweredEntries} in unanswered attempts)` : ''),
  );
  if (r.timeouts === 0 && r.serverErrors === 0) {
    expect(r.acceptedSeen === r.accepted, `answers reported ${r.acceptedSeen} stored alerts, the server ${r.accepted}`);
  }
  expect(r.incidents === r.groups, `${r.incidents} incidents for ${r.groups} groups`);
  expect(r.alertsOnIncidents === r.alertsSent, `${r.alertsOnIncidents} alerts on incidents, ${r.alertsSent} sent`);
  expect(r.groupMismatches.length === 0, `groups with missing alerts: ${r.groupMismatches.slice(0, 3).join('; ')}`);
  if (r.openedNotifications !== null) {
    expect(r.openedNotifications <= r.groups, `${r.openedNotifications} "opened" notifications for ${r.groups} groups`);
    expect(
      r.openedNotifications === r.incidents,
      `${r.openedNotifications} "opened" notifications, ${r.incidents} incidents`,
    );
    expect(r.notifiedTwice === 0, `${r.notifiedTwice} incidents were announced twice`);
  }
  expect(r.dlqDepth === null || r.dlqDepth === 0, `${r.dlqDepth} jobs in the dead-letter queue`);
  return failures;
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatReport(r: StormReport, targetLabel: string): string {
  const sendS = r.sendMs / 1000;
  const k = r.deliveriesByKind;
  const lines = [
    `incident-pilot alert storm — ${targetLabel}, run ${r.runId}`,
    `  alerts sent              ${n(r.alertsSent)} distinct, in ${r.groups} groups`,
    `  deliveries               ${n(r.deliveries)} (${k.growth} growth, ${k['ha-duplicate']} HA duplicates, ${k.retry} re-sends, ${k.repeat} repeats), concurrency ${r.concurrency}`,
    `  alerts listed            ${n(r.alertEntries)} across all deliveries`,
    `  accepted                 ${n(r.accepted)}   (server count; ${n(r.acceptedSeen)} in the answers received)`,
    `  duplicates               ${n(r.duplicates)}   (server count; ${n(r.duplicatesSeen)} in the answers received)`,
    `  rejected / failed        ${r.rejected} / ${r.failed}   (sent again: ${r.timeouts} without an answer in time, ${r.serverErrors} after a 5xx)`,
    `  incidents                ${r.incidents}   (expected ${r.groups})`,
    r.openedNotifications === null
      ? `  "opened" notifications   n/a against a running server; notifications sent (all sinks): ${r.stats.notificationsSent}`
      : `  "opened" notifications   ${r.openedNotifications}   (≤ ${r.groups}; fake Slack; announced twice: ${r.notifiedTwice})`,
    `  alerts on incidents      ${n(r.alertsOnIncidents)}   (sum of alertCount; lost: ${n(Math.max(0, r.alertsSent - r.alertsOnIncidents))})`,
    `  send phase               ${sendS.toFixed(1)} s   (${(r.deliveries / sendS).toFixed(1)} deliveries/s, ${n(Math.round(r.alertEntries / sendS))} alerts listed/s)`,
    `  elapsed until settled    ${(r.totalMs / 1000).toFixed(1)} s   (${r.settled ? 'queue drained, every incident complete' : 'NOT SETTLED'})`,
    `  delivery latency         p50 ${r.latencyMs.p50.toFixed(0)} ms, p95 ${r.latencyMs.p95.toFixed(0)} ms, max ${r.latencyMs.max.toFixed(0)} ms`,
    `  worker jobs failed       ${r.stats.jobsFailed} (retried by the queue)${r.dlqDepth === null ? '' : `; dead-letter queue: ${r.dlqDepth}`}`,
    `  peak RSS                 ${r.peakRssMb} MB${r.openedNotifications === null ? ' (this client)' : ' (this process: client + local stack)'}`,
    r.failures.length === 0
      ? 'invariants: all hold'
      : `INVARIANTS FAILED:\n${r.failures.map((f) => `  - ${f}`).join('\n')}`,
  ];
  return lines.join('\n');
}
