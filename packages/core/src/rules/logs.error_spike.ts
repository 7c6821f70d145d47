import { defineRule } from '../engine/rule.js';
import { WILDCARD } from '../logs/cluster.js';
import type { ErrorPattern } from '../logs/error-patterns.js';
import type { LogLine } from '../schemas/context.js';
import type { Evidence } from '../schemas/incident.js';
import { clip, errorAnalysis, evidenceTime, formatDuration, shellQuote } from './util.js';

// Runner-up patterns cited after the leading one.
const OTHER_PATTERNS = 2;

// Template characters the suggested grep searches for. grep matches anywhere in a line, so the start of
// a template finds every line the whole of it does, and the command stays whole where a chat message or
// a page cuts long text (Slack shows 800 characters of a suggestion, PagerDuty and Opsgenie 1,000).
const GREP_CHARS = 120;

/** The template's leading words, at most GREP_CHARS characters. */
function grepPrefix(template: string): string {
  if (template.length <= GREP_CHARS) return template;
  const [first = '', ...rest] = template.split(' ');
  // A first word cut short must not end in half a surrogate pair or part of a wildcard (`<*>`).
  if (first.length > GREP_CHARS) return first.slice(0, GREP_CHARS).replace(/[\ud800-\udbff]$|<\*?$/, '');
  let prefix = first;
  for (const word of rest) {
    if (prefix.length + 1 + word.length > GREP_CHARS) break;
    prefix += ` ${word}`;
  }
  return prefix;
}

/**
 * An extended regex matching the lines of a template (its start), for the suggested grep. The template
 * joins its words with one space; when the lines separate them otherwise (tabs, runs of spaces), so does
 * the regex.
 */
function grepPattern(template: string, lines: readonly LogLine[]): string {
  const escaped = grepPrefix(template)
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replaceAll(WILDCARD.replace(/[*]/g, '\\*'), '.*');
  const spaced = lines.some((line) => /[^\S ]|\S {2,}\S/.test(line.message));
  return spaced ? escaped.replaceAll(' ', '[[:space:]]+') : escaped;
}

/** `grep -nE <pattern> <file>`, quoted; `-e` and `--` when either starts with `-` and would be an option. */
function grepCommand(pattern: string, file: string): string {
  const dashed = pattern.startsWith('-') || file.startsWith('-');
  return dashed
    ? `grep -nE -e ${shellQuote(pattern)} -- ${shellQuote(file)}`
    : `grep -nE ${shellQuote(pattern)} ${shellQuote(file)}`;
}

const percent = (part: number, whole: number) => `${Math.round((part / whole) * 100)}%`;

/** How the pattern compares with the service's baseline, for summaries and evidence. */
function versusBaseline(p: ErrorPattern, baselineMinutes: number): string {
  if (p.isNew) return `new since ${p.lines[0]?.timestamp} (none in the ${baselineMinutes} min before the window)`;
  if (p.grown) return `up from ${p.baselineCount} in the ${baselineMinutes} min before the window`;
  if (baselineMinutes > 0)
    return `at its usual rate (${p.baselineCount} in the ${baselineMinutes} min before the window)`;
  return '';
}

/**
 * A burst of ERROR-or-worse log lines from the alerting service in the window [start −
 * logs.windowMinutes, start + logs.afterMinutes] (cut at the moment of correlation), at least
 * logs.minErrors of them. Lines are clustered into templates and compared with the service's own
 * errors in the logs.baselineMinutes before the window: a pattern never seen there, or grown
 * logs.growthFactor times, is **new** and ranks first — the strongest log signal. Severity MEDIUM;
 * HIGH when there are at least minErrors × logs.highFactor lines and the leading pattern covers at
 * least logs.dominantShare of them; LOW when every pattern is at its usual rate (chronic errors).
 */
export const logsErrorSpike = defineRule({
  id: 'logs.error_spike',
  description:
    'A burst of error log lines from the alerting service, grouped into patterns and compared with its baseline',
  evaluate(ctx) {
    const cfg = ctx.config.logs;
    const analysis = errorAnalysis(ctx);
    const { total, patterns } = analysis;
    const [lead, ...rest] = patterns;
    if (total < cfg.minErrors || !lead) return [];

    const first = lead.lines[0];
    const last = lead.lines.at(-1);
    const share = lead.lines.length / total;
    const dominates = share >= cfg.dominantShare;
    const loud = total >= cfg.minErrors * cfg.highFactor;
    const chronic = cfg.baselineMinutes > 0 && !lead.isNew && !lead.grown;
    const pattern = lead.template || '(empty message)';
    const baseline = versusBaseline(lead, cfg.baselineMinutes);
    const after = analysis.toMs - ctx.now;
    const window = `the ${cfg.windowMinutes} min before the alert${after >= 1000 ? ` and the ${formatDuration(after)} after its start` : ''}`;

    const evidence: Evidence[] = [
      {
        kind: 'log',
        ref: clip(pattern, 200),
        detail: `pattern "${clip(pattern, 200)}": ${lead.lines.length} of ${total} error lines (${percent(lead.lines.length, total)}), ${first?.timestamp} to ${last?.timestamp}${baseline ? `; ${baseline}` : ''}`,
        ...(first ? { at: evidenceTime(first.timestamp) } : {}),
      },
      // The latest lines are the ones nearest the alert.
      ...lead.lines.slice(-cfg.sampleLines).map((line) => ({
        kind: 'log' as const,
        ref: line.timestamp,
        detail: `${line.level} ${clip(line.message) || '(empty message)'}`,
        at: evidenceTime(line.timestamp),
      })),
      ...rest.slice(0, OTHER_PATTERNS).map((t) => {
        const template = clip(t.template || '(empty message)', 200);
        const versus = versusBaseline(t, cfg.baselineMinutes);
        return {
          kind: 'log' as const,
          ref: template,
          detail: `also: pattern "${template}" in ${t.lines.length} of ${total} error lines${versus ? `, ${versus}` : ''}`,
        };
      }),
    ];
    return [
      {
        ruleId: 'logs.error_spike',
        severity: chronic ? 'low' : loud && dominates ? 'high' : 'medium',
        confidence: chronic ? 'low' : dominates ? 'high' : 'medium',
        summary: `${total} error log lines from ${ctx.service} in ${window}; top pattern "${clip(pattern, 200)}" (${lead.lines.length} of ${total} lines, ${percent(lead.lines.length, total)})${baseline ? `, ${baseline}` : ''}`,
        suggestion: `Find where the pattern starts and what precedes it in ${ctx.service}'s logs: ${grepCommand(grepPattern(lead.template, lead.lines), `${ctx.service}.log`)} | head`,
        evidence,
      },
    ];
  },
});
