import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AlertGroup,
  type ContextWindow,
  correlate,
  defaultEngineConfig,
  defineRule,
  type Finding,
  parseAlertPayload,
  type Rule,
  rules,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8')) as unknown;

function groupOf(name: string): AlertGroup {
  const [group] = parseAlertPayload(fixture(name), '2026-11-25T05:00:00Z');
  if (!group) throw new Error(`${name} holds no group`);
  return group;
}

const EMPTY: ContextWindow = { deploys: [], logs: [], traces: [] };

const finding = (ruleId: string, severity: Finding['severity'], summary = `${ruleId} says so`): Finding => ({
  ruleId,
  severity,
  confidence: 'medium',
  summary,
  suggestion: 'look at it',
  evidence: [{ kind: 'alert', ref: 'x', detail: 'because' }],
});

const fixed = (id: string, ...found: Finding[]) => defineRule({ id, description: id, evaluate: () => found });

function run(ruleList: readonly Rule[], group = groupOf('firing-group-3-alerts.json')) {
  return correlate({ group, context: EMPTY, openIncidents: [], config: defaultEngineConfig, rules: ruleList });
}

describe('rule engine', () => {
  it.each<{ name: string; rule: Rule; problem: string }>([
    {
      name: 'a rule that throws',
      rule: defineRule({
        id: 'test.throws',
        description: 'throws',
        evaluate() {
          throw new TypeError('boom');
        },
      }),
      problem: 'threw TypeError: boom',
    },
    {
      name: 'a finding without evidence',
      rule: fixed('test.no_evidence', { ...finding('test.no_evidence', 'critical'), evidence: [] }),
      problem: 'broke the finding contract at [0].evidence: a finding must cite at least one piece of evidence',
    },
    {
      name: 'a result that is not a list',
      rule: defineRule({ id: 'test.not_list', description: 'x', evaluate: () => ({}) as unknown as Finding[] }),
      problem: 'returned something other than a list of findings',
    },
    {
      name: "a finding under another rule's id",
      rule: fixed('test.impostor', finding('deploy.recent_correlated', 'high')),
      problem: 'returned a finding with ruleId "deploy.recent_correlated"',
    },
  ])('turns $name into one LOW finding naming the rule', ({ rule, problem }) => {
    const result = run([rule, fixed('test.ok', finding('test.ok', 'medium'))]);

    const broken = result.findings.filter((f) => f.ruleId === rule.id);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatchObject({ severity: 'low', confidence: 'low' });
    expect(broken[0]?.summary).toContain(`Rule ${rule.id} failed`);
    expect(broken[0]?.summary).toContain(problem);
    expect(broken[0]?.evidence[0]).toMatchObject({ kind: 'rule', ref: rule.id });
    // The other rules still run.
    expect(result.findings.map((f) => f.ruleId)).toContain('test.ok');
  });

  it('orders findings by severity, then rule id, then summary', () => {
    const result = run([
      fixed('b.rule', finding('b.rule', 'medium')),
      fixed('a.rule', finding('a.rule', 'medium', 'second'), finding('a.rule', 'medium', 'first')),
      fixed('z.rule', finding('z.rule', 'critical')),
      fixed('c.rule', finding('c.rule', 'info')),
    ]);

    expect(result.findings.map((f) => `${f.severity} ${f.ruleId} ${f.summary}`)).toEqual([
      'critical z.rule z.rule says so',
      'medium a.rule first',
      'medium a.rule second',
      'medium b.rule b.rule says so',
      'info c.rule c.rule says so',
    ]);
  });

  it('is deterministic: same input, same output, whatever the rule order', () => {
    const list = [...rules, fixed('x.extra', finding('x.extra', 'high'))];

    const first = run(list);
    const again = run(list);
    const reversed = run([...list].reverse());

    expect(again).toEqual(first);
    expect(reversed).toEqual(first);
  });

  it('never lowers the severity the alert label gives', () => {
    const result = run([fixed('t.rule', finding('t.rule', 'info'))], groupOf('firing-single-alert.json'));

    expect(result.severity).toBe('critical');
  });

  it('raises severity above the label when a finding is worse', () => {
    const group = groupOf('firing-single-alert.json');
    const warning = {
      ...group,
      commonLabels: { ...group.commonLabels, severity: 'warning' },
      alerts: group.alerts.map((a) => ({ ...a, labels: { ...a.labels, severity: 'warning' } })),
    };

    const quiet = run([fixed('t.rule', finding('t.rule', 'low'))], warning);
    const loud = run([fixed('t.rule', finding('t.rule', 'high'))], warning);

    expect(quiet.severity).toBe('medium');
    expect(loud.severity).toBe('high');
  });

  it('titles the incident from the alertname, service and summary annotation', () => {
    const result = run(rules, groupOf('firing-single-alert.json'));

    expect(result.title).toBe('HighErrorRate on checkout: HighErrorRate on checkout (instance-1)');
    expect(result.findings.map((f) => f.ruleId)).toEqual(['routing.team']);
  });

  it('cuts a long title without splitting an emoji', () => {
    const [group] = parseAlertPayload(
      {
        labels: { alertname: 'Down', service: 'apis' },
        annotations: { summary: '🚨'.repeat(200) },
        startsAt: '2026-11-25T04:00:00Z',
      },
      '2026-11-25T04:00:05Z',
    );

    const { title } = run([], group);

    expect(title.length).toBeLessThanOrEqual(300);
    expect(title).toMatch(/^Down on apis: (🚨)+…$/u);
  });
});
