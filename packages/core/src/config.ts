import * as z from './schemas/zod.js';

// Each field's schema with its default `d`: a positive number (of minutes), one at least `min`, a positive integer.
const minutes = (d: number) => z._default(z.number().check(z.positive()), d);
const atLeast = (min: number, d: number) => z._default(z.number().check(z.gte(min)), d);
const count = (d: number) => z._default(z.number().check(z.int(), z.positive()), d);
// A map of names to values, empty when absent.
const names = <V extends z.core.SomeType>(value: V) => z._default(z.record(z.string(), value), {});

/**
 * Every threshold the rules use, with its default. One typed object, parsed once (from CDK context,
 * environment or a CLI flag) and passed to the engine as an argument. An absent section is `{}`
 * (a prefault), so its fields' defaults apply; an unknown key is refused, so a misspelt threshold
 * (`windowMinute`) stops the start instead of quietly leaving the default in place. Built on its first parse (`z.lazy`): a function's
 * module init does no zod work for it.
 */
export const engineConfigSchema = z.lazy(() =>
  z.prefault(
    z.strictObject({
      deploy: z.prefault(
        z.strictObject({
          /** How far before the alert's start a deploy still correlates. */
          windowMinutes: minutes(30),
          /** A deploy at most this long before the start is HIGH; older ones are MEDIUM. */
          closeMinutes: minutes(15),
          /** Deploys up to this long after the start still count (clock skew between systems). */
          skewMinutes: atLeast(0, 2),
          /** Later deploys, up to this long after the start, are reported as made during the incident. */
          duringMinutes: minutes(60),
        }),
        {},
      ),
      logs: z.prefault(
        z.strictObject({
          windowMinutes: minutes(15),
          /** Lines after the alert's start count too, up to this long after it (and the moment of correlation). */
          afterMinutes: atLeast(0, 10),
          /** The service's errors in this long before the window are the baseline new patterns are measured against. */
          baselineMinutes: atLeast(0, 60),
          /** A pattern whose rate grew at least this much over the baseline's counts as new. */
          growthFactor: atLeast(1, 3),
          /** ERROR-or-worse lines needed to call it a spike. */
          minErrors: count(5),
          /** Sample lines cited as evidence. */
          sampleLines: count(3),
          /** A spike of at least `minErrors × highFactor` lines is HIGH (if one pattern dominates). */
          highFactor: atLeast(1, 4),
          /** Share of the error lines the top pattern needs to "dominate" (HIGH severity, high confidence). */
          dominantShare: z._default(z.number().check(z.gt(0), z.lte(1)), 0.5),
        }),
        {},
      ),
      traces: z.prefault(
        z.strictObject({
          windowMinutes: minutes(15),
          /** Traces after the alert's start count too, up to this long after it (and the moment of correlation). */
          afterMinutes: atLeast(0, 10),
          /** Traces needed before a p99 means anything. */
          minTraces: count(20),
          /** p99 above this (ms) fires. */
          p99ThresholdMs: z._default(z.number().check(z.positive()), 1000),
          /** Per-service overrides of `p99ThresholdMs`. */
          serviceThresholdsMs: names(z.number().check(z.positive())),
          /** Slowest trace ids cited as evidence. */
          slowestTraces: count(3),
          /** A p99 at least `threshold × highFactor` is HIGH; above the threshold it is MEDIUM. */
          highFactor: atLeast(1, 2),
        }),
        {},
      ),
      routing: z.prefault(
        z.strictObject({
          /** service → team, used when the alert has no `team` label. */
          serviceTeams: names(z.string()),
        }),
        {},
      ),
      slack: z.prefault(
        z.strictObject({
          /**
           * Slack app mode: the channel (id) for a service's or a team's incidents; a service's entry wins
           * over its team's, and anything else goes to `INCIDENT_PILOT_SLACK_CHANNEL`.
           */
          channels: z.prefault(
            z.strictObject({
              byService: names(z.string().check(z.minLength(1))),
              byTeam: names(z.string().check(z.minLength(1))),
            }),
            {},
          ),
        }),
        {},
      ),
    }),
    {},
  ),
);

export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

// Pure: dropped from the bundles that never read it (the functions parse their configuration).
export const defaultEngineConfig: EngineConfig = /* @__PURE__ */ engineConfigSchema.parse({});

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

const MINUTE = 60_000;

/**
 * The end of a window that runs past the alert's start: through the moment of correlation, at most
 * `afterMinutes` after the start, never before the start.
 */
export function windowEnd(startsAtMs: number, correlatedAtMs: number, afterMinutes: number): number {
  return Math.max(startsAtMs, Math.min(correlatedAtMs, startsAtMs + afterMinutes * MINUTE));
}

// The span in which `toISOString()` writes a plain four-digit year: the store's keys sort as text.
const MAX_WINDOW_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** A range clamped to years 1970–9999, so no stored time, however odd, makes a query the store refuses. */
const clamped = (fromMs: number, toMs: number): TimeRange => ({
  fromMs: Math.min(MAX_WINDOW_MS, Math.max(0, fromMs)),
  toMs: Math.min(MAX_WINDOW_MS, Math.max(0, toMs)),
});

/** What the worker loads around an alert, per kind: exactly what the rules' windows read. */
export function contextWindowOf(
  config: EngineConfig,
  startsAtMs: number,
  correlatedAtMs = startsAtMs,
): Record<'deploys' | 'logs' | 'traces', TimeRange> {
  const { deploy, logs, traces } = config;
  return {
    deploys: clamped(
      startsAtMs - deploy.windowMinutes * MINUTE,
      Math.max(startsAtMs + deploy.skewMinutes * MINUTE, windowEnd(startsAtMs, correlatedAtMs, deploy.duringMinutes)),
    ),
    logs: clamped(
      startsAtMs - (logs.windowMinutes + logs.baselineMinutes) * MINUTE,
      windowEnd(startsAtMs, correlatedAtMs, logs.afterMinutes),
    ),
    traces: clamped(
      startsAtMs - traces.windowMinutes * MINUTE,
      windowEnd(startsAtMs, correlatedAtMs, traces.afterMinutes),
    ),
  };
}
