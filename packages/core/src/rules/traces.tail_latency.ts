import { windowEnd } from '../config.js';
import { defineRule } from '../engine/rule.js';
import type { Trace } from '../schemas/context.js';
import type { Evidence } from '../schemas/incident.js';
import { evidenceTime, firstOf, formatDuration, isWithin, MINUTE_MS, nearestRank } from './util.js';

// Below this many traces the nearest-rank p99 is simply the slowest trace: one outlier decides.
const FULL_CONFIDENCE_TRACES = 100;

const ms = (v: number) => `${Math.round(v)} ms`;

/**
 * A URL path segment that stays inert inside double quotes: `encodeURIComponent` leaves `!'()*`
 * as they are, and an interactive bash expands `!` there from its history.
 */
const pathSegment = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Slowest first; the trace id breaks ties so the evidence is stable. */
const slowerFirst = (a: Trace, b: Trace) => b.durationMs - a.durationMs || a.traceId.localeCompare(b.traceId);

/**
 * Tail latency of the alerting service in [start − traces.windowMinutes, start + traces.afterMinutes]
 * (cut at the moment of correlation): with at least
 * traces.minTraces traces, fires when the nearest-rank p99 exceeds the service's threshold
 * (traces.serviceThresholdsMs[service] ?? traces.p99ThresholdMs). MEDIUM; HIGH from threshold ×
 * traces.highFactor. Confidence high from 100 traces, medium below (the p99 is then the maximum).
 */
export const tracesTailLatency = defineRule({
  id: 'traces.tail_latency',
  description: 'The alerting service’s p99 latency is above its threshold',
  evaluate(ctx) {
    const cfg = ctx.config.traces;
    const from = ctx.now - cfg.windowMinutes * MINUTE_MS;
    const to = windowEnd(ctx.now, ctx.correlatedAt, cfg.afterMinutes);
    const traces = ctx.context.traces.filter((t) => t.service === ctx.service && isWithin(t.timestamp, from, to));
    const window = `the ${cfg.windowMinutes} min before the alert${to - ctx.now >= 1000 ? ` and the ${formatDuration(to - ctx.now)} after its start` : ''}`;
    if (traces.length < cfg.minTraces) return [];

    const ownThreshold = Object.hasOwn(cfg.serviceThresholdsMs, ctx.service)
      ? cfg.serviceThresholdsMs[ctx.service]
      : undefined;
    const threshold = ownThreshold ?? cfg.p99ThresholdMs;
    const thresholdKey =
      ownThreshold === undefined ? 'traces.p99ThresholdMs' : `traces.serviceThresholdsMs.${ctx.service}`;
    // A typed array sorts numerically, natively: no comparator calls.
    const durations = new Float64Array(traces.length);
    traces.forEach((t, i) => {
      durations[i] = t.durationMs;
    });
    durations.sort();
    const p50 = nearestRank(durations, 50);
    const p99 = nearestRank(durations, 99);
    if (!(p99 > threshold)) return [];

    const slowest = firstOf(traces, cfg.slowestTraces, slowerFirst);
    const evidence: Evidence[] = [
      {
        kind: 'trace',
        ref: `${ctx.service} p99`,
        detail: `${traces.length} traces of ${ctx.service} in ${window}: p50 ${ms(p50)}, p99 ${ms(p99)} (nearest rank)`,
      },
      { kind: 'config', ref: thresholdKey, detail: `p99 threshold for ${ctx.service}: ${ms(threshold)}` },
      ...slowest.map((t) => ({
        kind: 'trace' as const,
        ref: t.traceId,
        detail: `trace ${t.traceId} took ${ms(t.durationMs)}`,
        at: evidenceTime(t.timestamp),
      })),
    ];
    const top = slowest[0]?.traceId ?? '';
    return [
      {
        ruleId: 'traces.tail_latency',
        severity: p99 >= threshold * cfg.highFactor ? 'high' : 'medium',
        confidence: traces.length >= FULL_CONFIDENCE_TRACES ? 'high' : 'medium',
        summary: `p99 latency of ${ctx.service} is ${ms(p99)}, above its ${ms(threshold)} threshold (p50 ${ms(p50)}, ${traces.length} traces in ${window})`,
        suggestion: `Open the slowest trace ${top} in your tracing UI and find the span that dominates it (Jaeger: curl -s "$JAEGER_URL/api/traces/${pathSegment(top)}")`,
        evidence,
      },
    ];
  },
});
