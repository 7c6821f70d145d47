/**
 * The error-log analysis two rules read (the spike itself, and the deploy rule's "did the errors
 * start before the deploy?"): a service's error lines in the window, clustered into patterns and
 * compared with the same service's errors in the baseline before the window.
 */
import { type EngineConfig, windowEnd } from '../config.js';
import { isErrorLevel, type LogLine } from '../schemas/context.js';
import { toMillis } from '../schemas/time.js';
import { clusterMessages } from './cluster.js';

const MINUTE_MS = 60_000;

export interface ErrorPattern {
  template: string;
  /** The pattern's error lines in the window, oldest first. */
  lines: LogLine[];
  /** Its lines in the baseline before the window. */
  baselineCount: number;
  /** Not in the baseline at all (with a baseline configured). */
  isNew: boolean;
  /** Its rate grew at least `logs.growthFactor` times over the baseline's. */
  grown: boolean;
}

export interface ErrorAnalysis {
  fromMs: number;
  toMs: number;
  /** Error lines in the window. */
  total: number;
  baselineMinutes: number;
  /**
   * Patterns with lines in the window: new or grown ones first, then by count; empty when `total` is
   * below `logs.minErrors` (too few lines to call a spike, so they are not clustered).
   */
  patterns: ErrorPattern[];
  /** When the errors began: the first line of any new or grown pattern, if there is one. */
  onsetMs: number | null;
}

export interface ErrorAnalysisInput {
  service: string;
  logs: readonly LogLine[];
  /** The reference alert's start (ms). */
  now: number;
  /** The moment of correlation (ms). */
  correlatedAt: number;
  config: Pick<EngineConfig, 'logs'>;
}

/** An error line of the service within the baseline and the window, with its time parsed once. */
interface Timed {
  line: LogLine;
  ms: number;
}

/**
 * The analysis. Cheap checks come first (service, then level), so only the service's error lines have
 * their timestamps parsed, once each. With fewer than `logs.minErrors` error lines in the window nothing
 * is clustered: no rule reads the patterns then (`patterns` is empty and `onsetMs` null, `total` exact).
 */
export function analyseErrors(ctx: ErrorAnalysisInput): ErrorAnalysis {
  const cfg = ctx.config.logs;
  const fromMs = ctx.now - cfg.windowMinutes * MINUTE_MS;
  const toMs = windowEnd(ctx.now, ctx.correlatedAt, cfg.afterMinutes);
  const baselineFromMs = fromMs - cfg.baselineMinutes * MINUTE_MS;
  const lines: Timed[] = [];
  let total = 0;
  for (const line of ctx.logs) {
    if (line.service !== ctx.service || !isErrorLevel(line.level)) continue;
    const ms = toMillis(line.timestamp);
    if (!(ms >= baselineFromMs && ms <= toMs)) continue;
    lines.push({ line, ms });
    if (ms >= fromMs) total++;
  }
  const analysis = { fromMs, toMs, total, baselineMinutes: cfg.baselineMinutes };
  if (total < cfg.minErrors) return { ...analysis, patterns: [], onsetMs: null };

  // Chronological, message as tie-break: clustering is order-sensitive and must be replayable.
  lines.sort((a, b) => a.ms - b.ms || a.line.message.localeCompare(b.line.message));
  const windowLength = toMs - fromMs;
  const baselineLength = fromMs - baselineFromMs;
  const hasBaseline = baselineLength > 0;

  const found: { pattern: ErrorPattern; firstMs: number; rising: number }[] = [];
  for (const t of clusterMessages(lines.map(({ line }) => line.message))) {
    const windowLines: LogLine[] = [];
    let firstMs = Number.NaN;
    for (const i of t.indices) {
      const { line, ms } = lines[i] as Timed;
      if (ms < fromMs) continue;
      if (windowLines.length === 0) firstMs = ms;
      windowLines.push(line);
    }
    if (windowLines.length === 0) continue;
    const baselineCount = t.indices.length - windowLines.length;
    const isNew = hasBaseline && baselineCount === 0;
    const grown =
      hasBaseline &&
      baselineCount > 0 &&
      windowLines.length / windowLength >= cfg.growthFactor * (baselineCount / baselineLength);
    found.push({
      pattern: { template: t.template, lines: windowLines, baselineCount, isNew, grown },
      firstMs,
      rising: Number(isNew || grown),
    });
  }
  found.sort((a, b) => b.rising - a.rising || b.pattern.lines.length - a.pattern.lines.length || a.firstMs - b.firstMs);
  const onsets = found.filter((f) => f.rising === 1).map((f) => f.firstMs);
  return {
    ...analysis,
    patterns: found.map((f) => f.pattern),
    onsetMs: onsets.length > 0 ? Math.min(...onsets) : null,
  };
}
