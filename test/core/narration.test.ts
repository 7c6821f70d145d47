import {
  type Finding,
  type Incident,
  type NarrationInput,
  narrate,
  narrateResolution,
  narrateUpdate,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const deployFinding: Finding = {
  ruleId: 'deploy.recent_correlated',
  severity: 'high',
  confidence: 'high',
  summary: 'Deploy of api-gateway (commit 9f3c2ab by dana) 3 min before the alert started',
  suggestion: 'git show --stat 9f3c2ab && git revert --no-edit 9f3c2ab',
  evidence: [{ kind: 'deploy', ref: '9f3c2ab', detail: 'commit 9f3c2ab by dana', at: '2026-11-25T03:56:00Z' }],
};
const logFinding: Finding = {
  ruleId: 'logs.error_spike',
  severity: 'medium',
  confidence: 'high',
  summary: 'top pattern "upstream timeout request <*>" (10 of 10 lines, 100%)',
  suggestion: "grep -nE 'upstream timeout request .*' api-gateway.log | head",
  evidence: [
    { kind: 'log', ref: 'upstream timeout request <*>', detail: '10 of 10 error lines' },
    {
      kind: 'log',
      ref: '2026-11-25T03:58:45Z',
      detail: 'ERROR upstream timeout request 4515',
      at: '2026-11-25T03:58:45Z',
    },
  ],
};
const routingFinding: Finding = {
  ruleId: 'routing.team',
  severity: 'info',
  confidence: 'high',
  summary: 'Owned by team edge',
  suggestion: 'Page team edge',
  evidence: [{ kind: 'alert', ref: 'commonLabels.team', detail: 'team="edge"' }],
};

const input = (patch: Partial<NarrationInput> = {}): NarrationInput => ({
  title: 'HighErrorRate on api-gateway: 5xx rate above 5%',
  severity: 'high',
  status: 'open',
  service: 'api-gateway',
  alertname: 'HighErrorRate',
  team: 'edge',
  openedAt: '2026-11-25T03:59:00.000Z',
  resolvedAt: null,
  // Deliberately out of order: the report ranks them.
  findings: [routingFinding, logFinding, deployFinding],
  ...patch,
});

const stored: Incident = {
  ...input(),
  id: 'inc-42',
  groupKey: '{}:{alertname="HighErrorRate", service="api-gateway"}',
  resolution: null,
  lastSeenAt: '2026-11-25T04:01:00.000Z',
  alertCount: 3,
  firingCount: 2,
  resolvedAlertCount: 1,
  truncatedAlerts: 0,
  alerts: [],
  narration: '',
  previousIncidentId: null,
  version: 1,
};

describe('narrate', () => {
  it('opens with severity, title, service, team and status', () => {
    const lines = narrate(input()).split('\n');

    expect(lines.slice(0, 3)).toEqual([
      '[HIGH] HighErrorRate on api-gateway: 5xx rate above 5%',
      'Service: api-gateway | Alert: HighErrorRate | Team: edge',
      'Status: open since 2026-11-25T03:59:00.000Z',
    ]);
  });

  it('puts "What changed" first, with the deploy, then ranks every finding with evidence and next step', () => {
    const text = narrate(input());

    const changed = text.indexOf('What changed\n- Deploy of api-gateway (commit 9f3c2ab by dana)');
    const findings = text.indexOf('Findings (3, most severe first)');
    expect(changed).toBeGreaterThan(0);
    expect(findings).toBeGreaterThan(changed);
    const ranked = [...text.slice(findings).matchAll(/^\d+\. \[(\w+)\]/gm)].map((m) => m[1]);
    expect(ranked).toEqual(['HIGH', 'MEDIUM', 'INFO']);
    expect(text).toContain('   rule logs.error_spike, confidence high');
    expect(text).toContain('   - deploy: commit 9f3c2ab by dana (2026-11-25T03:56:00Z)');
    expect(text).toContain('   - log 2026-11-25T03:58:45Z: ERROR upstream timeout request 4515\n');
    expect(text).toContain('   Next: git show --stat 9f3c2ab && git revert --no-edit 9f3c2ab');
  });

  it('says right after "What changed" that an open incident already covers it, before the findings', () => {
    const duplicateFinding: Finding = {
      ruleId: 'incident.duplicate_open',
      severity: 'low',
      confidence: 'high',
      summary: 'Probably a duplicate: open incident inc-41 already holds alert c0ffee1234abcd56',
      suggestion: 'Join the responders of incident inc-41 before starting a parallel investigation',
      evidence: [{ kind: 'incident', ref: 'inc-41', detail: 'incident inc-41, open since 2026-11-25T03:50:00Z' }],
    };

    const text = narrate(input({ findings: [routingFinding, logFinding, deployFinding, duplicateFinding] }));
    const none = narrate(input());

    expect(text).toContain(
      '- Deploy of api-gateway (commit 9f3c2ab by dana) 3 min before the alert started\n\n' +
        'Already open\n- Probably a duplicate: open incident inc-41 already holds alert c0ffee1234abcd56\n\n' +
        'Findings (4, most severe first)',
    );
    expect(none).not.toContain('Already open');
  });

  it.each<{ name: string; patch: Partial<NarrationInput>; expected: string }>([
    {
      name: 'a partial resolution',
      patch: { alertCount: 3, firingCount: 2, resolvedAlertCount: 1 },
      expected: 'Partially resolved: 1 of 3 alerts resolved',
    },
    {
      name: 'alerts Alertmanager truncated',
      patch: { truncatedAlerts: 3 },
      expected: 'Alertmanager left out 3 alerts of this group',
    },
    { name: 'a recurrence', patch: { previousIncidentId: 'inc-41' }, expected: 'Recurs after incident inc-41' },
    {
      name: 'no deploy',
      patch: { findings: [logFinding] },
      expected: 'What changed\n- No deploy of api-gateway was found near the start of the alert.',
    },
    {
      name: 'no findings at all: says so plainly',
      patch: { findings: [] },
      expected: 'Findings\n- No change, log spike or latency regression found in the window',
    },
    {
      name: 'a resolved incident',
      patch: { status: 'resolved', resolvedAt: '2026-11-25T04:41:00.000Z' },
      expected: 'Status: resolved at 2026-11-25T04:41:00.000Z, opened 2026-11-25T03:59:00.000Z',
    },
  ])('states $name', ({ patch, expected }) => {
    expect(narrate(input(patch))).toContain(expected);
  });

  it.each<{ name: string; patch: Partial<NarrationInput>; absent: string }>([
    {
      name: 'partial resolution when none resolved',
      patch: { alertCount: 3, resolvedAlertCount: 0 },
      absent: 'Partially',
    },
    {
      name: 'partial resolution once the incident is resolved',
      patch: { status: 'resolved', alertCount: 3, resolvedAlertCount: 1 },
      absent: 'Partially',
    },
    { name: 'truncation when nothing was left out', patch: { truncatedAlerts: 0 }, absent: 'left out' },
    { name: 'a recurrence without a previous incident', patch: { previousIncidentId: null }, absent: 'Recurs' },
  ])('does not mention $name', ({ patch, absent }) => {
    expect(narrate(input(patch))).not.toContain(absent);
  });

  it('narrates a stored incident, naming its id', () => {
    const text = narrate(stored);

    expect(text).toContain('Status: Incident inc-42, open since 2026-11-25T03:59:00.000Z');
    expect(text).toContain('Partially resolved: 1 of 3 alerts resolved');
  });

  it('is deterministic and leaves its input alone', () => {
    const value = input();
    const before = structuredClone(value);

    expect(narrate(value)).toBe(narrate(input()));
    expect(value).toEqual(before);
  });
});

describe('narrateResolution', () => {
  it.each<{ name: string; patch: Partial<Incident>; expected: string }>([
    {
      name: 'all alerts resolved',
      patch: { status: 'resolved', resolvedAt: '2026-11-25T04:41:00.000Z', resolution: 'all_alerts_resolved' },
      expected:
        '[RESOLVED] HighErrorRate on api-gateway: 5xx rate above 5% (incident inc-42): resolved at 2026-11-25T04:41:00.000Z after 42 min; all alerts resolved. Team: edge.',
    },
    {
      name: 'resolved by hand after hours, a recurrence',
      patch: {
        status: 'resolved',
        resolvedAt: '2026-11-25T07:14:00.000Z',
        resolution: 'manual',
        previousIncidentId: 'inc-41',
      },
      expected:
        '[RESOLVED] HighErrorRate on api-gateway: 5xx rate above 5% (incident inc-42): resolved at 2026-11-25T07:14:00.000Z after 3 h 15 min; resolved by hand. Team: edge. Recurred after incident inc-41.',
    },
  ])('says when, after how long and how: $name', ({ patch, expected }) => {
    expect(narrateResolution({ ...stored, ...patch })).toBe(expected);
  });

  it('is a single short line', () => {
    const text = narrateResolution({ ...stored, status: 'resolved', resolvedAt: '2026-11-25T03:59:45.000Z' });

    expect(text).not.toContain('\n');
    expect(text).toContain('after 45 s');
  });
});

describe('narrateUpdate', () => {
  it('leads with what changed since the last update, then the incident as it is now', () => {
    const changes = [
      { kind: 'finding_added' as const, summary: 'New finding [HIGH]: Deploy of api-gateway (commit a1b2c3d)' },
      { kind: 'alerts_firing' as const, summary: '1 new firing alert (2 of 2 firing)' },
    ];

    const text = narrateUpdate(stored, changes, 2);

    expect(text.split('\n').slice(0, 5)).toEqual([
      `[UPDATE] ${stored.title} (incident inc-42, update 2)`,
      '',
      'What changed since the last update',
      '- New finding [HIGH]: Deploy of api-gateway (commit a1b2c3d)',
      '- 1 new firing alert (2 of 2 firing)',
    ]);
    expect(text).toContain(narrate(stored));
  });
});

describe('narrate: timeline', () => {
  it('lists the timeline once the incident has more than its opening', () => {
    const timeline = [
      { at: '2026-11-25T04:00:00.000Z', type: 'opened' as const, summary: 'opened' },
      { at: '2026-11-25T04:06:00.000Z', type: 'updated' as const, summary: 'Update 1: New finding [HIGH]: deploy' },
    ];

    expect(narrate({ ...stored, timeline: timeline.slice(0, 1) })).not.toContain('Timeline');
    expect(narrate({ ...stored, timeline })).toContain(
      'Timeline\n- 2026-11-25T04:00:00.000Z opened: opened\n- 2026-11-25T04:06:00.000Z updated: Update 1: New finding [HIGH]: deploy',
    );
  });

  it('says when an update carried more changes than the one its entry names', () => {
    const timeline = [
      { at: '2026-11-25T04:00:00.000Z', type: 'opened' as const, summary: 'opened' },
      {
        at: '2026-11-25T04:06:00.000Z',
        type: 'updated' as const,
        summary: 'Update 1: Severity raised from MEDIUM to HIGH',
        changes: [
          'Severity raised from MEDIUM to HIGH',
          'New finding [HIGH]: deploy',
          '1 new firing alert (2 of 2 firing)',
        ],
      },
      {
        at: '2026-11-25T04:12:00.000Z',
        type: 'updated' as const,
        summary: 'Update 2: New finding [MEDIUM]: logs',
        changes: ['New finding [MEDIUM]: logs'],
      },
    ];

    expect(narrate({ ...stored, timeline })).toContain(
      '- 2026-11-25T04:06:00.000Z updated: Update 1: Severity raised from MEDIUM to HIGH (and 2 more changes)\n' +
        '- 2026-11-25T04:12:00.000Z updated: Update 2: New finding [MEDIUM]: logs',
    );
  });
});
