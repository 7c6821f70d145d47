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
    expect(finding?.evidence.at(-1)?.detail).toBe('also: pattern "disk full on <*>" in 1 of 11 error lines');
  });

  it('suggests a grep for the dominant pattern', () => {
    const [finding] = evaluate(rule, ruleContext({ logs: timeouts(10) }));

    expect(finding?.suggestion).toContain(`grep -nE 'upstream timeout request .*' api-gateway.log`);
  });

  it('gives the same answer whatever order the lines were stored in', () => {
    const logs = [...timeouts(8), ...mixed(4, 'retrying call #')];

    const forward = evaluate(rule, ruleContext({ logs }));
    const backward = evaluate(rule, ruleContext({ logs: [...logs].reverse() }));

    expect(backward).toEqual(forward);
  });
});
