import { defineRule } from '../engine/rule.js';
import { clusterMessages, WILDCARD } from '../logs/cluster.js';
import { isErrorLevel, type LogLine } from '../schemas/context.js';
import type { Evidence } from '../schemas/incident.js';
import { clip, MINUTE_MS, shellQuote } from './util.js';

// Runner-up patterns cited after the dominant one.
const OTHER_PATTERNS = 2;

/** An extended regex matching the lines of a template, for the suggested grep. */
function grepPattern(template: string): string {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return escaped.replaceAll(WILDCARD.replace(/[*]/g, '\\*'), '.*');
}

const percent = (part: number, whole: number) => `${Math.round((part / whole) * 100)}%`;

/**
 * A burst of ERROR-or-worse log lines from the alerting service in [now − logs.windowMinutes, now],
 * at least logs.minErrors of them. The lines are clustered into templates (numbers, ids, paths and
 * the like masked as `<*>`) and the dominant one is named, so the page says *what* is failing.
 * Severity MEDIUM; HIGH when there are at least minErrors × logs.highFactor lines and the dominant
 * pattern covers at least logs.dominantShare of them (one failure mode, loudly). Confidence is high
 * when one pattern dominates, else medium.
 */
export const logsErrorSpike = defineRule({
  id: 'logs.error_spike',
  description: 'A burst of error log lines from the alerting service, grouped into message patterns',
  evaluate(ctx) {
    const cfg = ctx.config.logs;
    const from = ctx.now - cfg.windowMinutes * MINUTE_MS;
    const lines = ctx.context.logs
      .map((line) => ({ line, ms: Date.parse(line.timestamp) }))
      .filter(({ line, ms }) => line.service === ctx.service && isErrorLevel(line.level) && ms >= from && ms <= ctx.now)
      // Chronological, message as tie-break: clustering is order-sensitive and must be replayable.
      .sort((a, b) => a.ms - b.ms || a.line.message.localeCompare(b.line.message));
    if (lines.length < cfg.minErrors) return [];

    const total = lines.length;
    const templates = clusterMessages(lines.map(({ line }) => line.message));
    const [dominant, ...rest] = templates;
    if (!dominant) return [];
    const members: LogLine[] = dominant.indices.flatMap((i) => lines[i]?.line ?? []);
    const first = members[0];
    const last = members.at(-1);
    const share = dominant.count / total;
    const dominates = share >= cfg.dominantShare;
    const loud = total >= cfg.minErrors * cfg.highFactor;
    const pattern = dominant.template || '(empty message)';

    const evidence: Evidence[] = [
      {
        kind: 'log',
        ref: clip(pattern, 200),
        detail: `pattern "${clip(pattern, 200)}": ${dominant.count} of ${total} error lines (${percent(dominant.count, total)}), ${first?.timestamp} to ${last?.timestamp}`,
        ...(first ? { at: first.timestamp } : {}),
      },
      // The latest lines are the ones nearest the alert.
      ...members.slice(-cfg.sampleLines).map((line) => ({
        kind: 'log' as const,
        ref: line.timestamp,
        detail: `${line.level} ${clip(line.message) || '(empty message)'}`,
        at: line.timestamp,
      })),
      ...rest.slice(0, OTHER_PATTERNS).map((t) => ({
        kind: 'log' as const,
        ref: clip(t.template || '(empty message)', 200),
        detail: `also: pattern "${clip(t.template || '(empty message)', 200)}" in ${t.count} of ${total} error lines`,
      })),
    ];
    return [
      {
        ruleId: 'logs.error_spike',
        severity: loud && dominates ? 'high' : 'medium',
        confidence: dominates ? 'high' : 'medium',
        summary: `${total} error log lines from ${ctx.service} in the ${cfg.windowMinutes} min before the alert; top pattern "${clip(pattern, 200)}" (${dominant.count} of ${total} lines, ${percent(dominant.count, total)})`,
        suggestion: `Find where the pattern starts and what precedes it in ${ctx.service}'s logs: grep -nE ${shellQuote(grepPattern(dominant.template))} ${shellQuote(`${ctx.service}.log`)} | head`,
        evidence,
      },
    ];
  },
});
