/**
 * The error-log analysis two rules read (the spike itself, and the deploy rule's "did the errors
 * start before the deploy?"): a service's error lines in the window, clustered into patterns and
 * compared with the same service's errors in the baseline before the window.
 */
import { type EngineConfig, windowEnd } from '../config.js';
import { isErrorLevel, type LogLine } from '../schemas/context.js';
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
  /** Patterns with lines in the window: new or grown ones first, then by count. */
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

export function analyseErrors(ctx: ErrorAnalysisInput): ErrorAnalysis {
  const cfg = ctx.config.logs;
  const fromMs = ctx.now - cfg.windowMinutes * MINUTE_MS;
  const toMs = windowEnd(ctx.now, ctx.correlatedAt, cfg.afterMinutes);
  const baselineFromMs = fromMs - cfg.baselineMinutes * MINUTE_MS;
  // The cheap checks first: parsing a timestamp costs more than comparing a service name.
  const lines = ctx.logs
    .filter((line) => line.service === ctx.service && isErrorLevel(line.level))
    .map((line) => ({ line, ms: Date.parse(line.timestamp) }))
    .filter(({ ms }) => ms >= baselineFromMs && ms <= toMs)
    // Chronological, message as tie-break: clustering is order-sensitive and must be replayable.
    .sort((a, b) => a.ms - b.ms || a.line.message.localeCompare(b.line.message));
  const inWindow = (ms: number) => ms >= fromMs;
  const windowLength = toMs - fromMs;
  const baselineLength = fromMs - baselineFromMs;

  const patterns: ErrorPattern[] = [];
  for (const t of clusterMessages(lines.map(({ line }) => line.message))) {
    const members = t.indices.flatMap((i) => lines[i] ?? []);
    const windowLines = members.filter(({ ms }) => inWindow(ms)).map(({ line }) => line);
    if (windowLines.length === 0) continue;
    const baselineCount = members.length - windowLines.length;
    const hasBaseline = baselineLength > 0;
    patterns.push({
      template: t.template,
      lines: windowLines,
      baselineCount,
      isNew: hasBaseline && baselineCount === 0,
      grown:
        hasBaseline &&
        baselineCount > 0 &&
        windowLines.length / windowLength >= cfg.growthFactor * (baselineCount / baselineLength),
    });
  }
  const firstMs = (p: ErrorPattern) => Date.parse(p.lines[0]?.timestamp ?? '');
  const rising = (p: ErrorPattern) => Number(p.isNew || p.grown);
  patterns.sort((a, b) => rising(b) - rising(a) || b.lines.length - a.lines.length || firstMs(a) - firstMs(b));
  const onsets = patterns.filter((p) => rising(p) === 1).map(firstMs);
  return {
    fromMs,
    toMs,
    total: patterns.reduce((n, p) => n + p.lines.length, 0),
    baselineMinutes: cfg.baselineMinutes,
    patterns,
    onsetMs: onsets.length > 0 ? Math.min(...onsets) : null,
  };
}
