import type { Deploy, EngineConfigInput, LogLine } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { deploy, evaluate, logLine, MINUTE, ruleById, ruleContext, SECOND } from '../support/rule-context.js';

const rule = ruleById('deploy.recent_correlated');

describe('rule deploy.recent_correlated', () => {
  it.each<{ name: string; deploys: Deploy[]; config?: EngineConfigInput; severity: string; commit: string }>([
    { name: '3 min before the start', deploys: [deploy(-3 * MINUTE)], severity: 'high', commit: 'abc1234' },
    {
      name: 'exactly 15 min before (still close)',
      deploys: [deploy(-15 * MINUTE)],
      severity: 'high',
      commit: 'abc1234',
    },
    {
      name: '15 min + 1 ms before (not close)',
      deploys: [deploy(-15 * MINUTE - 1)],
      severity: 'medium',
      commit: 'abc1234',
    },
    { name: 'exactly 30 min before', deploys: [deploy(-30 * MINUTE)], severity: 'medium', commit: 'abc1234' },
    { name: 'at the very start', deploys: [deploy(0)], severity: 'high', commit: 'abc1234' },
    { name: 'exactly 2 min after (clock skew)', deploys: [deploy(2 * MINUTE)], severity: 'high', commit: 'abc1234' },
    {
      name: 'several deploys: the newest is the primary',
      deploys: [deploy(-20 * MINUTE, 'old0001'), deploy(-5 * MINUTE, 'new0002'), deploy(-25 * MINUTE, 'old0003')],
      severity: 'high',
      commit: 'new0002',
    },
    {
      name: 'a wider configured window',
      deploys: [deploy(-45 * MINUTE)],
      config: { deploy: { windowMinutes: 60 } },
      severity: 'medium',
      commit: 'abc1234',
    },
    {
      name: 'a narrower configured "close"',
      deploys: [deploy(-6 * MINUTE)],
      config: { deploy: { closeMinutes: 5 } },
      severity: 'medium',
      commit: 'abc1234',
    },
  ])('fires: $name → $severity', ({ deploys, config, severity, commit }) => {
    // Arrange
    const ctx = ruleContext({ deploys, config });

    // Act
    const findings = evaluate(rule, ctx);

    // Assert
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'deploy.recent_correlated', severity });
    expect(findings[0]?.confidence).toBe(severity === 'high' ? 'high' : 'medium');
    expect(findings[0]?.summary).toContain(commit);
    expect(findings[0]?.evidence[0]?.ref).toBe(commit);
    expect(findings[0]?.suggestion).toContain(`git revert --no-edit ${commit}`);
  });

  it.each<{ name: string; deploys: Deploy[]; config?: EngineConfigInput }>([
    { name: 'no deploys at all', deploys: [] },
    { name: '30 min + 1 ms before', deploys: [deploy(-30 * MINUTE - 1)] },
    { name: '2 min + 1 ms after', deploys: [deploy(2 * MINUTE + 1)] },
    { name: 'another service, 3 min before', deploys: [deploy(-3 * MINUTE, 'abc1234', 'billing')] },
    { name: 'after the start with no skew allowed', deploys: [deploy(1)], config: { deploy: { skewMinutes: 0 } } },
  ])('stays quiet: $name', ({ deploys, config }) => {
    const ctx = ruleContext({ deploys, config });

    const findings = evaluate(rule, ctx);

    expect(findings).toEqual([]);
  });

  it('cites commit, author, time and minutes before, newest deploy first', () => {
    const ctx = ruleContext({
      deploys: [
        { ...deploy(-20 * MINUTE, 'old0001'), message: 'Bump client library' },
        deploy(-3 * MINUTE, 'new0002', 'api-gateway', 'ana'),
      ],
    });

    const [finding] = evaluate(rule, ctx);

    expect(finding?.evidence.map((e) => e.ref)).toEqual(['new0002', 'old0001']);
    expect(finding?.evidence[0]).toMatchObject({ kind: 'deploy', at: '2026-11-25T03:57:00.000Z' });
    expect(finding?.evidence[0]?.detail).toContain('by ana');
    expect(finding?.evidence[0]?.detail).toContain('3 min before the alert started');
    expect(finding?.evidence[1]?.detail).toContain('"Bump client library"');
    expect(finding?.summary).toContain('(the newest of 2 deploys in the window)');
  });

  it('says a deploy inside the skew allowance came after the start', () => {
    const [finding] = evaluate(rule, ruleContext({ deploys: [deploy(MINUTE)] }));

    expect(finding?.summary).toContain('1 min after the alert started');
  });

  it('quotes a commit that is not shell-safe in the suggested command', () => {
    const [finding] = evaluate(rule, ruleContext({ deploys: [deploy(-MINUTE, "v1.2 'hotfix'")] }));

    expect(finding?.suggestion).toContain(`git show --stat 'v1.2 '\\''hotfix'\\'''`);
  });

  // `git show --stat --output=<file>` writes (or overwrites) that file: quoting cannot stop an option.
  it.each<{ name: string; deploys: Deploy[]; logs?: LogLine[]; command: string }>([
    {
      name: 'the suspect',
      deploys: [deploy(-MINUTE, '--output=notes.txt')],
      command:
        'git show --stat --end-of-options --output=notes.txt && git revert --no-edit --end-of-options --output=notes.txt',
    },
    {
      name: 'a deploy after the errors began',
      deploys: [deploy(-MINUTE, '--output=notes.txt')],
      logs: Array.from({ length: 6 }, (_, i) => logLine(-5 * MINUTE + i * SECOND, `db timeout ${i}`)),
      command: 'git show --stat --end-of-options --output=notes.txt',
    },
    {
      name: 'a deploy during the incident',
      deploys: [deploy(7 * MINUTE, '--output=notes.txt')],
      command: 'git show --stat --end-of-options --output=notes.txt',
    },
  ])('never lets a commit starting with "-" pass as a git option: $name', ({ deploys, logs, command }) => {
    const findings = evaluate(rule, ruleContext({ deploys, logs, correlatedAfter: 10 * MINUTE }));

    expect(findings).toHaveLength(1);
    expect(findings[0]?.suggestion).toContain(`: ${command}`);
  });

  describe('red herrings and deploys during the incident', () => {
    it('ignores a deploy of another service even at the same moment', () => {
      expect(evaluate(rule, ruleContext({ deploys: [deploy(-MINUTE, 'abc', 'billing')] }))).toEqual([]);
    });

    it('does not blame a deploy made after the error lines began, and cites the onset', () => {
      const errors = Array.from({ length: 6 }, (_, i) => logLine(-10 * MINUTE + i * SECOND, `db timeout ${i}`));

      const [finding] = evaluate(rule, ruleContext({ deploys: [deploy(-2 * MINUTE, 'late01')], logs: errors }));

      expect(finding?.severity).toBe('low');
      expect(finding?.summary).toContain(
        'came after the errors began (first new error line at 2026-11-25T03:50:00.000Z)',
      );
      expect(finding?.evidence.some((e) => e.kind === 'log' && e.ref === '2026-11-25T03:50:00.000Z')).toBe(true);
    });

    it('blames the newest deploy made before the onset and says why it ranks first', () => {
      const errors = Array.from({ length: 6 }, (_, i) => logLine(-5 * MINUTE + i * SECOND, `db timeout ${i}`));
      const deploys = [deploy(-8 * MINUTE, 'early01'), deploy(-MINUTE, 'after01')];

      const [finding] = evaluate(rule, ruleContext({ deploys, logs: errors }));

      expect(finding?.severity).toBe('high');
      expect(finding?.summary).toContain('commit early01');
      expect(finding?.summary).toContain('made before the errors began at 2026-11-25T03:55:00.000Z');
      expect(finding?.evidence.map((e) => e.ref)).toEqual(['early01', 'after01', '2026-11-25T03:55:00.000Z']);
    });

    it('takes the onset from the earliest new pattern, not only the loudest', () => {
      const early = Array.from({ length: 3 }, (_, i) => logLine(-6 * MINUTE + i * SECOND, `cache timeout ${i}`));
      const loud = Array.from({ length: 10 }, (_, i) => logLine(-MINUTE + i * SECOND, `db refused pool ${i}`));

      const [finding] = evaluate(
        rule,
        ruleContext({ deploys: [deploy(-4 * MINUTE, 'mid0001')], logs: [...early, ...loud] }),
      );

      expect(finding?.severity).toBe('low');
      expect(finding?.summary).toContain('first new error line at 2026-11-25T03:54:00.000Z');
    });

    it('reports a deploy after the skew allowance as made during the incident', () => {
      const ctx = ruleContext({
        deploys: [deploy(7 * MINUTE, 'fix0001', 'api-gateway', 'lee')],
        correlatedAfter: 10 * MINUTE,
      });

      const findings = evaluate(rule, ctx);

      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ severity: 'medium', confidence: 'low' });
      expect(findings[0]?.summary).toContain(
        '7 min after the alert started, during the incident: a suspect or a fix attempt',
      );
    });

    it('does not see a deploy during the incident before the moment of correlation reaches it', () => {
      expect(evaluate(rule, ruleContext({ deploys: [deploy(7 * MINUTE)], correlatedAfter: 5 * MINUTE }))).toEqual([]);
    });
  });
});
