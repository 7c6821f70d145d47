import * as z from 'zod';

const minutes = (d: number) => z.number().positive().default(d);

/**
 * Every threshold the rules use, with its default. One typed object, parsed once (from CDK context,
 * environment or a CLI flag) and passed to the engine as an argument.
 */
export const engineConfigSchema = z
  .object({
    deploy: z
      .object({
        /** How far before the alert's start a deploy still correlates. */
        windowMinutes: minutes(30),
        /** A deploy at most this long before the start is HIGH; older ones are MEDIUM. */
        closeMinutes: minutes(15),
        /** Deploys up to this long after the start still count (clock skew between systems). */
        skewMinutes: z.number().nonnegative().default(2),
      })
      .prefault({}),
    logs: z
      .object({
        windowMinutes: minutes(15),
        /** ERROR-or-worse lines needed to call it a spike. */
        minErrors: z.number().int().positive().default(5),
        /** Sample lines cited as evidence. */
        sampleLines: z.number().int().positive().default(3),
        /** A spike of at least `minErrors × highFactor` lines is HIGH (if one pattern dominates). */
        highFactor: z.number().min(1).default(4),
        /** Share of the error lines the top pattern needs to "dominate" (HIGH severity, high confidence). */
        dominantShare: z.number().gt(0).max(1).default(0.5),
      })
      .prefault({}),
    traces: z
      .object({
        windowMinutes: minutes(15),
        /** Traces needed before a p99 means anything. */
        minTraces: z.number().int().positive().default(20),
        /** p99 above this (ms) fires. */
        p99ThresholdMs: z.number().positive().default(1000),
        /** Per-service overrides of `p99ThresholdMs`. */
        serviceThresholdsMs: z.record(z.string(), z.number().positive()).default({}),
        /** Slowest trace ids cited as evidence. */
        slowestTraces: z.number().int().positive().default(3),
        /** A p99 at least `threshold × highFactor` is HIGH; above the threshold it is MEDIUM. */
        highFactor: z.number().min(1).default(2),
      })
      .prefault({}),
    routing: z
      .object({
        /** service → team, used when the alert has no `team` label. */
        serviceTeams: z.record(z.string(), z.string()).default({}),
      })
      .prefault({}),
  })
  .prefault({});

export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

export const defaultEngineConfig: EngineConfig = engineConfigSchema.parse({});

/** The context the worker loads around an alert: wide enough for every rule's window. */
export function contextWindowOf(config: EngineConfig, startsAtMs: number): { fromMs: number; toMs: number } {
  const beforeMin = Math.max(config.deploy.windowMinutes, config.logs.windowMinutes, config.traces.windowMinutes);
  return { fromMs: startsAtMs - beforeMin * 60_000, toMs: startsAtMs + config.deploy.skewMinutes * 60_000 };
}
