import { ValidationError } from '../errors.js';
import { fnv64 } from '../hash.js';
import type {
  AlertRecord,
  AlertRepository,
  ContextItem,
  ContextRepository,
  JobQueue,
  RefreshRepository,
  StatsRepository,
} from '../ports.js';
import type { AlertGroup } from '../schemas/alertmanager.js';
import { type ContextKind, contextSchemas, isErrorLevel } from '../schemas/context.js';
import { futureTimeIssues } from '../schemas/time.js';
import { toFieldIssues } from '../validation.js';
import { defaultPacing, type Pacing, requestRefresh } from './pacing.js';

/** A short, key-safe id for an Alertmanager group key. */
export function groupIdOf(groupKey: string): string {
  return fnv64(groupKey);
}

export interface IngestResult {
  /** `fingerprint@startsAt:status` of every alert stored for the first time. */
  accepted: string[];
  /** Alerts that were already stored (re-sends, retries, HA duplicates). */
  duplicates: number;
}

/** Groups of one request stored and queued at the same time. */
const GROUP_CONCURRENCY = 4;

export const alertKey = (r: { fingerprint: string; startsAt: string; status: string }) =>
  `${r.fingerprint}@${r.startsAt}:${r.status}`;

/**
 * Stores each alert once and queues a correlation job for every group with new alerts. A delivery with
 * nothing new asks for a refresh of the group (one delayed job for a burst of them): when it lists alerts
 * not yet folded into an incident — whose job may never have made it onto the queue, so a retry after a
 * failed enqueue loses nothing — or firing ones (a re-send at group_interval or repeat_interval). Throws
 * (→ 503, Alertmanager retries) when the store or the queue fails.
 */
export async function ingestAlerts(
  deps: { store: AlertRepository & StatsRepository & RefreshRepository; queue: JobQueue; pacing?: Pacing },
  groups: AlertGroup[],
  receivedAt: string,
): Promise<IngestResult> {
  const ingestGroup = async (group: AlertGroup) => {
    const groupId = groupIdOf(group.groupKey);
    // The same alert twice in one payload is one alert.
    const unique = new Map<string, AlertRecord>();
    for (const alert of group.alerts) {
      const record: AlertRecord = {
        ...alert,
        groupKey: group.groupKey,
        groupId,
        receivedAt,
        truncatedAlerts: group.truncatedAlerts,
        groupStatus: group.status,
      };
      unique.set(alertKey(record), record);
    }
    const recorded = await deps.store.recordAlerts([...unique.values()]);
    if (recorded.some((r) => r.created)) {
      await deps.queue.enqueue({ groupId, enqueuedAt: receivedAt });
    } else if (group.alerts.some((a) => a.status === 'firing') || (await deps.store.hasPending(groupId))) {
      await requestRefresh(deps, groupId, Date.parse(receivedAt), deps.pacing ?? defaultPacing);
    }
    return recorded;
  };
  // A few groups at a time: a request of many groups (bare alerts) stays well inside API Gateway's
  // 30 s. Every group runs to its end before a failure is thrown, so a retry has little left to do.
  const perGroup = new Array<Awaited<ReturnType<typeof ingestGroup>>>(groups.length);
  let next = 0;
  const failures: unknown[] = [];
  const lane = async () => {
    for (let i = next++; i < groups.length; i = next++) {
      try {
        perGroup[i] = await ingestGroup(groups[i] as AlertGroup);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(GROUP_CONCURRENCY, groups.length) }, lane));
  if (failures.length > 0) throw failures[0];

  const result: IngestResult = { accepted: [], duplicates: 0 };
  for (const r of perGroup.flat()) {
    if (r.created) result.accepted.push(alertKey(r.record));
    else result.duplicates += 1;
  }
  await deps.store.addStats({ alertsReceived: result.accepted.length, duplicatesDropped: result.duplicates });
  return result;
}

/** The most context items one request may carry. */
export const MAX_CONTEXT_BATCH = 500;

/**
 * Validates and stores one context item or a batch. Missing timestamps become `receivedAt`.
 * Every bad item is named by its index and field (`[3].level: …`); nothing is stored then. Open
 * incidents of the batch's services are asked to refresh. Returns the stored items (parsed, timestamps
 * filled) for whatever the caller forwards.
 */
export async function ingestContext(
  deps: { store: ContextRepository & RefreshRepository; queue: JobQueue; pacing?: Pacing },
  kind: ContextKind,
  body: unknown,
  receivedAt: string,
  expiresAt: number,
): Promise<{ stored: number; items: ContextItem[] }> {
  const batch = Array.isArray(body);
  const items: unknown[] = batch ? body : [body];
  if (items.length === 0) throw new ValidationError([{ path: '', message: 'expected at least one item' }], kind);
  if (items.length > MAX_CONTEXT_BATCH) {
    throw new ValidationError(
      [{ path: '', message: `a batch holds at most ${MAX_CONTEXT_BATCH} items, got ${items.length}` }],
      kind,
    );
  }
  const schema = contextSchemas[kind];
  const parsed: ContextItem[] = [];
  const issues = [];
  for (const [index, item] of items.entries()) {
    const result = schema.safeParse(item);
    const prefix = batch ? [index] : [];
    if (!result.success) {
      issues.push(...toFieldIssues(result.error, prefix));
      continue;
    }
    issues.push(...futureTimeIssues(result.data, ['when', 'timestamp'], receivedAt, prefix));
    if ('when' in result.data) {
      parsed.push(result.data);
    } else {
      parsed.push({ ...result.data, timestamp: result.data.timestamp ?? receivedAt });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, kind);
  await deps.store.putContext(kind, parsed, expiresAt);
  // Open incidents of these services take the new context into account (debounced); log lines below
  // ERROR change no finding.
  const nowMs = Date.parse(receivedAt);
  const relevant = parsed.filter((item) => !('level' in item) || isErrorLevel(item.level));
  for (const service of new Set(relevant.map((item) => item.service))) {
    for (const groupId of await deps.store.groupsOfService(service)) {
      await requestRefresh(deps, groupId, nowMs, deps.pacing ?? defaultPacing);
    }
  }
  return { stored: parsed.length, items: parsed };
}
