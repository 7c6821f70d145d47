import {
  type ContextWindow,
  contextSchemas,
  correlate,
  defaultEngineConfig,
  narrate,
  parseAlertPayload,
  rules,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const STARTS_AT = '2026-11-25T03:59:00.000Z';
const minutesBefore = (m: number) => new Date(Date.parse(STARTS_AT) - m * 60_000).toISOString();

describe('scenario: the quick demo', () => {
  it('blames the deploy 3 minutes before (HIGH) and names the timeout pattern (MEDIUM)', () => {
    // Arrange: what a user posts to /alerts and /context/*, parsed the way ingest parses it.
    const [group] = parseAlertPayload(
      { labels: { alertname: 'HighErrorRate', service: 'api-gateway' }, startsAt: STARTS_AT },
      STARTS_AT,
    );
    if (!group) throw new Error('no group');
    const deploy = contextSchemas.deploys.parse({
      service: 'api-gateway',
      commit: 'abc1234',
      author: 'dana',
      when: minutesBefore(3),
    });
    const logs = Array.from({ length: 10 }, (_, n) => ({
      ...contextSchemas.logs.parse({
        service: 'api-gateway',
        level: 'error',
        message: `upstream timeout request ${n}`,
        timestamp: minutesBefore(2.5 - n / 5),
      }),
      timestamp: minutesBefore(2.5 - n / 5),
    }));
    const context: ContextWindow = { deploys: [deploy], logs, traces: [] };

    // Act
    const result = correlate({ group, context, openIncidents: [], config: defaultEngineConfig, rules });

    // Assert
    const byRule = new Map(result.findings.map((f) => [f.ruleId, f]));
    expect(byRule.get('deploy.recent_correlated')).toMatchObject({ severity: 'high', confidence: 'high' });
    expect(byRule.get('deploy.recent_correlated')?.summary).toContain('abc1234');
    expect(byRule.get('logs.error_spike')?.severity).toBe('medium');
    expect(byRule.get('logs.error_spike')?.summary).toContain('"upstream timeout request <*>" (10 of 10 lines');
    expect(result.findings[0]?.ruleId).toBe('deploy.recent_correlated');
    expect(result.severity).toBe('high');
    expect(narrate({ ...result, status: 'open', team: 'unowned', openedAt: STARTS_AT, resolvedAt: null })).toContain(
      'What changed\n- Deploy of api-gateway (commit abc1234 by dana) 3 min before the alert started',
    );
  });
});
