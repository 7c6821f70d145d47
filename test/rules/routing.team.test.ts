import type { EngineConfigInput } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { evaluate, ruleById, ruleContext } from '../support/rule-context.js';

const rule = ruleById('routing.team');
const base = { alertname: 'HighErrorRate', service: 'api-gateway' };

describe('rule routing.team', () => {
  it.each<{
    name: string;
    service?: string;
    commonLabels?: Record<string, string>;
    alertLabels?: Record<string, string>;
    config?: EngineConfigInput;
    team: string;
    confidence: string;
    ref: string;
    reason: string;
  }>([
    {
      name: 'the common team label',
      commonLabels: { ...base, team: 'edge' },
      team: 'edge',
      confidence: 'high',
      ref: 'commonLabels.team',
      reason: 'the alert group carries the label team="edge"',
    },
    {
      name: "the reference alert's team label when the group has none in common",
      alertLabels: { ...base, team: 'platform' },
      team: 'platform',
      confidence: 'high',
      ref: '0123456789abcdef.labels.team',
      reason: 'the alert carries the label team="platform"',
    },
    {
      name: 'the common label over the alert label',
      commonLabels: { ...base, team: 'edge' },
      alertLabels: { ...base, team: 'platform' },
      team: 'edge',
      confidence: 'high',
      ref: 'commonLabels.team',
      reason: 'team="edge"',
    },
    {
      name: 'the configured service map without a label',
      config: { routing: { serviceTeams: { 'api-gateway': 'web' } } },
      team: 'web',
      confidence: 'medium',
      ref: 'routing.serviceTeams.api-gateway',
      reason: 'the engine config maps api-gateway to web',
    },
    {
      name: 'a label over the configured service map',
      commonLabels: { ...base, team: 'edge' },
      config: { routing: { serviceTeams: { 'api-gateway': 'web' } } },
      team: 'edge',
      confidence: 'high',
      ref: 'commonLabels.team',
      reason: 'team="edge"',
    },
    {
      name: 'nothing: unowned',
      config: { routing: { serviceTeams: { billing: 'payments' } } },
      team: 'unowned',
      confidence: 'low',
      ref: 'routing.serviceTeams.api-gateway',
      reason: 'no entry for api-gateway',
    },
    {
      name: 'an alert without any service label',
      service: 'unknown',
      commonLabels: { alertname: 'HighErrorRate' },
      alertLabels: { alertname: 'HighErrorRate', service: ' ' },
      team: 'unowned',
      confidence: 'low',
      ref: '0123456789abcdef.labels',
      reason: 'neither a team label nor a service label (service, app, app_kubernetes_io_name, job, container)',
    },
    {
      name: 'a service named like an Object.prototype key',
      service: 'constructor',
      team: 'unowned',
      confidence: 'low',
      ref: 'routing.serviceTeams.constructor',
      reason: 'no entry for constructor',
    },
  ])('routes to $team from $name', ({ service, commonLabels, alertLabels, config, team, confidence, ref, reason }) => {
    const ctx = ruleContext({ service, commonLabels, alertLabels, config });

    const findings = evaluate(rule, ctx);

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'routing.team', severity: 'info', confidence });
    expect(findings[0]?.summary).toContain(team === 'unowned' ? 'No owning team' : `Owned by team ${team}`);
    expect(findings[0]?.summary).toContain(reason);
    expect(findings[0]?.evidence[0]?.ref).toBe(ref);
  });

  it('asks for a label, not a route for "unknown", when the alert names no service', () => {
    const ctx = ruleContext({
      service: 'unknown',
      commonLabels: { alertname: 'HighErrorRate' },
      alertLabels: { alertname: 'HighErrorRate' },
    });

    const [finding] = evaluate(rule, ctx);

    expect(finding?.suggestion).toContain('or a service label (service, app,');
    expect(finding?.suggestion).not.toContain('serviceTeams":{"unknown"');
  });

  it('still suggests mapping a service that is named "unknown" by its label', () => {
    const ctx = ruleContext({ service: 'unknown', alertLabels: { alertname: 'HighErrorRate', app: 'unknown' } });

    const [finding] = evaluate(rule, ctx);

    expect(finding?.suggestion).toContain('{"routing":{"serviceTeams":{"unknown":"<team>"}}}');
  });
});
