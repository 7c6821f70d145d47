import type { EngineConfigInput, LogLine } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { evaluate, logLine, MINUTE, ruleById, ruleContext, SECOND } from '../support/rule-context.js';

const rule = ruleById('logs.error_spike');

/** `n` lines `upstream timeout request <k>`, one every 10 s ending 10 s before the start. */
const timeouts = (n: number, level: LogLine['level'] = 'ERROR') =>
  Array.from({ length: n }, (_, i) => logLine(-(n - i) * 10 * SECOND, `upstream timeout request ${1000 + i}`, level));

const mixed = (n: number, message: string) =>
  Array.from({ length: n }, (_, i) => logLine(-(i + 1) * 7 * SECOND, message.replace('#', String(i))));

describe('rule logs.error_spike', () => {
  it.each<{
    name: string;
    logs: LogLine[];
    config?: EngineConfigInput;
    severity: string;
    confidence: string;
    pattern: string;
    share: string;
  }>([
    {
      name: 'the quick demo: 10 timeouts',
      logs: timeouts(10),
      severity: 'medium',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '10 of 10 lines',
    },
    {
      name: 'exactly minErrors (5) lines',
      logs: timeouts(5),
      severity: 'medium',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '5 of 5 lines',
    },
    {
      name: 'CRITICAL and FATAL count as errors',
      logs: [...timeouts(3, 'CRITICAL'), ...timeouts(2, 'FATAL')],
      severity: 'medium',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '5 of 5 lines',
    },
    {
      name: 'lines exactly at both ends of the window',
      logs: [
        ...timeouts(3),
        logLine(-15 * MINUTE, 'upstream timeout request 1'),
        logLine(0, 'upstream timeout request 2'),
      ],
      severity: 'medium',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '5 of 5 lines',
    },
    {
      name: '4 × minErrors lines of one pattern',
      logs: timeouts(20),
      severity: 'high',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '20 of 20 lines',
    },
    {
      name: '4 × minErrors lines but no dominant pattern',
      logs: [...timeouts(9), ...mixed(6, 'db pool exhausted after # ms'), ...mixed(5, 'cache miss storm on shard #')],
      severity: 'medium',
      confidence: 'medium',
      pattern: 'upstream timeout request <*>',
      share: '9 of 20 lines',
    },
    {
      name: 'a lower configured minimum',
      logs: timeouts(2),
      config: { logs: { minErrors: 2 } },
      severity: 'medium',
      confidence: 'high',
      pattern: 'upstream timeout request <*>',
      share: '2 of 2 lines',
    },
  ])('fires: $name → $severity', ({ logs, config, severity, confidence, pattern, share }) => {
    const ctx = ruleContext({ logs, config });

    const findings = evaluate(rule, ctx);

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'logs.error_spike', severity, confidence });
    expect(findings[0]?.summary).toContain(`"${pattern}"`);
    expect(findings[0]?.summary).toContain(share);
    expect(findings[0]?.evidence[0]).toMatchObject({ kind: 'log', ref: pattern });
  });

  it.each<{ name: string; logs: LogLine[] }>([
    { name: 'no logs', logs: [] },
    { name: '4 error lines (one short of minErrors)', logs: timeouts(4) },
    { name: '10 WARN lines', logs: timeouts(10, 'WARN') },
    {
      name: "another service's errors",
      logs: Array.from({ length: 10 }, (_, i) => logLine(-i * SECOND, `card declined ${i}`, 'ERROR', 'billing')),
    },
    { name: 'the 5th line 1 ms before the window', logs: [...timeouts(4), logLine(-15 * MINUTE - 1, 'timeout 1')] },
    { name: 'the 5th line 1 ms after the start', logs: [...timeouts(4), logLine(1, 'upstream timeout request 9')] },
  ])('stays quiet: $name', ({ logs }) => {
    const findings = evaluate(rule, ruleContext({ logs }));

    expect(findings).toEqual([]);
  });

  it('cites the newest sampleLines lines of the dominant pattern, with timestamps', () => {
    const logs = [...timeouts(10), logLine(-5 * SECOND, 'disk full on /var/lib/data')];

    const [finding] = evaluate(rule, ruleContext({ logs, config: { logs: { sampleLines: 2 } } }));

    const samples = finding?.evidence.filter((e) => e.detail.startsWith('ERROR upstream timeout request'));
    expect(samples?.map((e) => e.detail)).toEqual([
      'ERROR upstream timeout request 1008',
      'ERROR upstream timeout request 1009',
    ]);
    expect(samples?.every((e) => e.at === e.ref)).toBe(true);
    expect(finding?.evidence.at(-1)?.detail).toMatch(
      /^also: pattern "disk full on <\*>" in 1 of 11 error lines, new since /,
    );
  });

  it('suggests a grep for the dominant pattern', () => {
    const [finding] = evaluate(rule, ruleContext({ logs: timeouts(10) }));

    expect(finding?.suggestion).toContain(`grep -nE 'upstream timeout request .*' api-gateway.log`);
  });

  it.each<{ name: string; message: string; service?: string; command: string }>([
    {
      name: 'a pattern starting with "-" (not an option)',
      message: '--- panic in worker #',
      command: `grep -nE -e '--- panic in worker .*' -- api-gateway.log | head`,
    },
    {
      name: 'a service name starting with "-" (not an option)',
      message: 'upstream timeout request #',
      service: '-r',
      command: `grep -nE -e 'upstream timeout request .*' -- -r.log | head`,
    },
    {
      name: 'tabs and runs of spaces in the lines',
      message: 'db\ttimeout  after # ms',
      command: `grep -nE 'db[[:space:]]+timeout[[:space:]]+after[[:space:]]+.*[[:space:]]+ms' api-gateway.log | head`,
    },
  ])('suggests a grep that finds the lines: $name', ({ message, service, command }) => {
    const logs = mixed(6, message).map((line) => ({ ...line, service: service ?? line.service }));

    const [finding] = evaluate(rule, ruleContext({ logs, service }));

    expect(finding?.suggestion).toContain(`: ${command}`);
  });

  it('keeps the suggested grep whole where Slack and the pagers cut text, however long the pattern', () => {
    const query = `SELECT * FROM orders WHERE ${'region IN (eu, us) AND '.repeat(40)}id = #`;

    const [finding] = evaluate(rule, ruleContext({ logs: mixed(6, query) }));

    const suggestion = finding?.suggestion ?? '';
    // Slack shows 800 characters of a suggestion, PagerDuty and Opsgenie 1,000.
    expect(suggestion.length).toBeLessThan(400);
    const pattern = /grep -nE '([^']*)' api-gateway\.log \| head$/.exec(suggestion)?.[1] ?? '';
    expect(pattern.startsWith('SELECT \\* FROM orders WHERE region IN \\(eu, us\\) AND')).toBe(true);
    expect(new RegExp(pattern).test(query.replace('#', '3'))).toBe(true);
  });

  it('cites lines stored before a day its month lacks was refused (2026-02-30) by the day they rolled over to', () => {
    // Accepted (as 2 March) until the calendar check; such items stay in the table for the context TTL.
    const now = Date.parse('2026-03-02T00:10:00.000Z');
    const asStored = (ms: number) => new Date(ms).toISOString().replace('2026-03-02', '2026-02-30');
    const logs = timeouts(5).map((line, i) => ({ ...line, timestamp: asStored(now - (5 - i) * 10 * SECOND) }));

    const [finding] = evaluate(rule, { ...ruleContext({ logs }), now, correlatedAt: now });

    expect(finding?.evidence[0]?.at).toBe('2026-03-02T00:09:10.000Z');
    expect(finding?.evidence.at(-1)?.at).toBe('2026-03-02T00:09:50.000Z');
  });

  it('gives the same answer whatever order the lines were stored in', () => {
    const logs = [...timeouts(8), ...mixed(4, 'retrying call #')];

    const forward = evaluate(rule, ruleContext({ logs }));
    const backward = evaluate(rule, ruleContext({ logs: [...logs].reverse() }));

    expect(backward).toEqual(forward);
  });

  describe('after the alert started', () => {
    /** 10 timeouts a few hundred ms after the start, as a log shipper delivers them. */
    const justAfter = Array.from({ length: 10 }, (_, i) => logLine(100 + i * 50, `upstream timeout request ${i}`));

    it('counts lines after the start once the correlation runs later', () => {
      const [finding] = evaluate(rule, ruleContext({ logs: justAfter, correlatedAfter: 30 * SECOND }));

      expect(finding?.summary).toContain('10 error log lines from api-gateway');
      expect(finding?.summary).toContain('and the 30 s after its start');
    });

    it('ignores lines later than the moment of correlation (a replay stays deterministic)', () => {
      expect(evaluate(rule, ruleContext({ logs: justAfter, correlatedAfter: 0 }))).toEqual([]);
    });

    it('stops at logs.afterMinutes after the start however late it correlates', () => {
      const logs = [...timeouts(4), logLine(10 * MINUTE, 'upstream timeout request 9')];
      const late = [...timeouts(4), logLine(10 * MINUTE + 1, 'upstream timeout request 9')];

      expect(evaluate(rule, ruleContext({ logs, correlatedAfter: 60 * MINUTE }))).toHaveLength(1);
      expect(evaluate(rule, ruleContext({ logs: late, correlatedAfter: 60 * MINUTE }))).toEqual([]);
    });
  });

  describe('against the baseline before the window', () => {
    /** A chronic error: one line every 5 min over the hour before the window and in the window. */
    const chronic = Array.from({ length: 15 }, (_, i) =>
      logLine(-(i + 1) * 5 * MINUTE + SECOND, `cache miss for key ${i}`),
    );

    it('names a pattern absent from the baseline as new, ranks it first and cites both counts', () => {
      const logs = [...chronic, ...chronic.slice(0, 3), ...mixed(5, 'payment gateway returned 5#')];

      const [finding] = evaluate(rule, ruleContext({ logs }));

      expect(finding?.summary).toContain('top pattern "payment gateway returned <*>"');
      expect(finding?.summary).toMatch(
        /new since 2026-11-25T03:59:\d\d\.000Z \(none in the 60 min before the window\)/,
      );
      expect(finding?.evidence[0]?.detail).toContain('5 of ');
      expect(
        finding?.evidence.some((e) => /also: pattern "cache miss for key <\*>".*at its usual rate/.test(e.detail)),
      ).toBe(true);
    });

    it('names a pattern whose rate grew growthFactor times as new', () => {
      const before = [logLine(-30 * MINUTE, 'queue full 1'), logLine(-40 * MINUTE, 'queue full 2')];
      const burst = Array.from({ length: 8 }, (_, i) => logLine(-(i + 1) * 20 * SECOND, `queue full ${i + 3}`));

      const [finding] = evaluate(rule, ruleContext({ logs: [...before, ...burst] }));

      expect(finding?.summary).toContain('up from 2 in the 60 min before the window');
      expect(finding?.severity).toBe('medium');
    });

    it('rates errors at their usual rate LOW with low confidence', () => {
      const steady = Array.from({ length: 37 }, (_, i) => logLine(-(i + 1) * 2 * MINUTE, `cache miss for key ${i}`));

      const [finding] = evaluate(rule, ruleContext({ logs: steady }));

      expect(finding).toMatchObject({ severity: 'low', confidence: 'low' });
      expect(finding?.summary).toContain('at its usual rate');
    });

    it('treats everything as new-or-not by count alone when logs.baselineMinutes is 0', () => {
      const [finding] = evaluate(rule, ruleContext({ logs: timeouts(10), config: { logs: { baselineMinutes: 0 } } }));

      expect(finding?.summary).not.toContain('new since');
      expect(finding?.severity).toBe('medium');
    });
  });
});
