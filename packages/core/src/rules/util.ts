/** Helpers shared by the rules. Rules import from here, never from each other. */
import type { EngineConfig } from '../config.js';
import type { RuleContext } from '../engine/rule.js';
import { analyseErrors, type ErrorAnalysis } from '../logs/error-patterns.js';
import type { AlertGroup, AlertInstance } from '../schemas/alertmanager.js';
import { timestamp, toMillis } from '../schemas/time.js';

export const MINUTE_MS = 60_000;

/** True when `ts` parses and lies in [fromMs, toMs], both ends included. */
export function isWithin(ts: string, fromMs: number, toMs: number): boolean {
  const ms = toMillis(ts);
  return ms >= fromMs && ms <= toMs;
}

/**
 * A context item's time as evidence `at`: as written when it is a valid timestamp, else the moment it
 * parses to. Items stored before days their month lacks were refused (2026-02-30, read as 2 March)
 * stay for the context TTL, and the finding contract would reject them as written.
 */
export function evidenceTime(ts: string): string {
  return timestamp.safeParse(ts).success ? ts : new Date(toMillis(ts)).toISOString();
}

/**
 * The first `k` items of `items` in the order of `compare`, as a stable sort then `slice(0, k)` would
 * give them, without sorting all of them.
 */
export function firstOf<T>(items: readonly T[], k: number, compare: (a: T, b: T) => number): T[] {
  const top: T[] = [];
  if (k <= 0) return top;
  for (const item of items) {
    if (top.length === k && compare(item, top[k - 1] as T) >= 0) continue;
    // After every kept item it does not precede: ties keep their input order.
    let at = top.length;
    while (at > 0 && compare(item, top[at - 1] as T) < 0) at--;
    top.splice(at, 0, item);
    if (top.length > k) top.pop();
  }
  return top;
}

/** `3 min`, `1.5 min`, `45 s`: short and exact enough to read at 3 AM. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE_MS) return `${Math.round(abs / 1000)} s`;
  if (abs < 60 * MINUTE_MS) return `${Number((abs / MINUTE_MS).toFixed(1))} min`;
  return `${Number((abs / (60 * MINUTE_MS)).toFixed(1))} h`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Nearest-rank percentile: the smallest value such that at least p% of the values are at or below
 * it, i.e. `sorted[ceil(p/100 × n) − 1]`. Always an observed value; for n < 100 the p99 is the max.
 */
export function nearestRank(sortedAscending: ArrayLike<number>, p: number): number {
  const rank = Math.max(1, Math.ceil((p * sortedAscending.length) / 100));
  return sortedAscending[rank - 1] ?? Number.NaN;
}

/** Quotes a string for a POSIX shell, unless it is plainly safe as it is. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * A revision as a git argument: shell-quoted, and after `--end-of-options` when it starts with `-`,
 * which no quoting stops git from reading as an option (`--output=<file>` writes that file).
 */
export function gitRevision(rev: string): string {
  return rev.startsWith('-') ? `--end-of-options ${shellQuote(rev)}` : shellQuote(rev);
}

/** Collapses a message to one line and cuts it to `max` characters. */
export function clip(s: string, max = 300): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The team of an alert group no label or config entry routes: a placeholder, not a team to page. */
export const UNOWNED_TEAM = 'unowned';

/** Where a group's owning team came from. */
export type TeamSource = 'commonLabels' | 'alertLabels' | 'config' | 'none';

export interface TeamRoute {
  team: string;
  source: TeamSource;
}

/**
 * The team that owns an alert group: the `team` label (common labels first, then the reference
 * alert's), else `routing.serviceTeams[service]`, else `unowned`.
 */
export function routeTeam(
  group: Pick<AlertGroup, 'commonLabels'>,
  alert: Pick<AlertInstance, 'labels'>,
  service: string,
  config: Pick<EngineConfig, 'routing'>,
): TeamRoute {
  const common = group.commonLabels.team?.trim();
  if (common) return { team: common, source: 'commonLabels' };
  const own = alert.labels.team?.trim();
  if (own) return { team: own, source: 'alertLabels' };
  // Own-property check: a service named `constructor` must not find Object.prototype's.
  const configured = Object.hasOwn(config.routing.serviceTeams, service)
    ? config.routing.serviceTeams[service]?.trim()
    : undefined;
  if (configured) return { team: configured, source: 'config' };
  return { team: UNOWNED_TEAM, source: 'none' };
}

const errorAnalyses = new WeakMap<RuleContext, ErrorAnalysis>();

/** The service's error-log analysis for this correlation, computed once and shared by the rules. */
export function errorAnalysis(ctx: RuleContext): ErrorAnalysis {
  let analysis = errorAnalyses.get(ctx);
  if (!analysis) {
    const { service, now, correlatedAt, config } = ctx;
    analysis = analyseErrors({ service, logs: ctx.context.logs, now, correlatedAt, config });
    errorAnalyses.set(ctx, analysis);
  }
  return analysis;
}
