import { announcedOf, type Finding, type Incident, type IncidentAlert, recordChanges } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { baseIncident } from '../sinks/incidents.js';

const OPENED = Date.parse('2026-11-25T03:59:04.097Z');
const UPDATE_MIN_MS = 300_000;
const [deploy, traces] = baseIncident().findings as [Finding, Finding];
const errorSpike: Finding = {
  ruleId: 'logs.error_spike',
  severity: 'high',
  confidence: 'high',
  summary: '120 error log lines from checkout',
  suggestion: "grep -nE 'timeout' checkout.log | head",
  evidence: [{ kind: 'log', ref: 'payment gateway timeout', detail: '120 of 120 error lines' }],
};

/** The incident as announced when it opened: MEDIUM, one MEDIUM finding, one firing alert. */
const opened = ((incident: Incident): Incident => ({ ...incident, announced: announcedOf(incident) }))(
  baseIncident({
    severity: 'medium',
    findings: [{ ...traces }],
    alertCount: 1,
    firingCount: 1,
    resolvedAlertCount: 0,
  }),
);
const [firstAlert] = opened.alerts as [IncidentAlert];

/** The group grown to `n` firing alerts. */
const grownTo = (n: number): Partial<Incident> => ({
  alerts: Array.from({ length: n }, (_, i) =>
    i === 0 ? firstAlert : { ...firstAlert, fingerprint: `f${String(i).padStart(15, '0')}` },
  ),
  alertCount: n,
  firingCount: n,
});

type Step = [atMs: number, state: Partial<Incident>];

/** Records the incident's successive states the way the worker's jobs do, each at its time, from `start`. */
function jobsFrom(start: Incident, ...steps: Step[]) {
  let incident = start;
  let wakeAt: number | null = null;
  for (const [atMs, state] of steps) {
    ({ incident, wakeAt } = recordChanges(incident, { ...incident, ...state }, atMs, UPDATE_MIN_MS));
  }
  return { incident, wakeAt };
}

/** The same, from the incident as it opened. */
const jobs = (...steps: Step[]) => jobsFrom(opened, ...steps);

describe('updates held by INCIDENT_PILOT_UPDATE_MIN_SECONDS', () => {
  it('merges what changed meanwhile into one update when its time comes', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'high', findings: [{ ...traces }, errorSpike] }],
      [OPENED + 120_000, { severity: 'high', findings: [{ ...traces }, errorSpike, deploy] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.revision).toBe(1);
    expect(incident.lastUpdate?.changes.map((c) => c.kind).sort()).toEqual([
      'finding_added',
      'finding_added',
      'severity_up',
    ]);
    expect(incident.pendingChanges).toEqual([]);
  });

  it('counts every alert that fired meanwhile, not only those of the last change', () => {
    const { incident } = jobs(
      [OPENED + 60_000, grownTo(4)],
      [OPENED + 120_000, grownTo(6)],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual(['5 new firing alerts (6 of 6 firing)']);
  });

  it('announces nothing that was undone before its time came: a finding gone, a severity back down', () => {
    const { incident, wakeAt } = jobs(
      [OPENED + 60_000, { severity: 'high', findings: [{ ...traces }, errorSpike] }],
      [OPENED + 90_000, { findings: [{ ...traces, severity: 'high' }, errorSpike] }],
      // The error burst is diluted, the latency back under its high bar: as when the incident opened.
      [OPENED + 120_000, { severity: 'medium', findings: [{ ...traces }] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate).toBeUndefined();
    expect(incident.pendingChanges).toEqual([]);
    expect(incident.timeline ?? []).toEqual([]);
    expect(wakeAt).toBeNull();
  });

  it('says how far the severity and a finding rose since the last update, through several raises', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'high', findings: [{ ...traces, severity: 'high' }] }],
      [OPENED + 120_000, { severity: 'critical', findings: [{ ...traces, severity: 'critical' }] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      'Severity raised from MEDIUM to CRITICAL',
      `Escalated [MEDIUM → CRITICAL]: ${traces.summary}`,
    ]);
  });

  it('announces what is left of a change partly undone: a severity, a new finding, an escalation', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'critical', findings: [{ ...traces, severity: 'critical' }, errorSpike] }],
      // Back part of the way before the update goes out: still above what the opened message said.
      [
        OPENED + 120_000,
        {
          severity: 'high',
          findings: [
            { ...traces, severity: 'high' },
            { ...errorSpike, severity: 'medium' },
          ],
        },
      ],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      'Severity raised from MEDIUM to HIGH',
      `Escalated [MEDIUM → HIGH]: ${traces.summary}`,
      `New finding [MEDIUM]: ${errorSpike.summary}`,
    ]);
  });

  it('keeps the part that still holds', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'high', findings: [{ ...traces }, errorSpike, deploy] }],
      [OPENED + 120_000, { severity: 'high', findings: [{ ...traces }, deploy] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => [c.kind, c.ruleId])).toEqual([
      ['severity_up', undefined],
      ['finding_added', 'deploy.recent_correlated'],
    ]);
  });
});

describe('updates measured from what was last announced', () => {
  it('says nothing of a severity raised, lowered below what was announced and raised back to it', () => {
    const { incident, wakeAt } = jobs(
      [OPENED + 60_000, { severity: 'high' }],
      [OPENED + 90_000, { severity: 'low' }],
      [OPENED + 120_000, { severity: 'medium' }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate).toBeUndefined();
    expect(incident.pendingChanges).toEqual([]);
    expect(wakeAt).toBeNull();
  });

  it('measures a severity raise from what was announced, not from a low point in between', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'low' }],
      [OPENED + 120_000, { severity: 'high' }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual(['Severity raised from MEDIUM to HIGH']);
  });

  it('says nothing of a severity lowered silently and raised back after the hold window', () => {
    const { incident } = jobs([OPENED + 400_000, { severity: 'low' }], [OPENED + 500_000, { severity: 'medium' }]);

    expect(incident.lastUpdate).toBeUndefined();
    expect(incident.timeline ?? []).toEqual([]);
  });

  it('announces a new finding that escalated before its time came once, at its severity now', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { findings: [{ ...traces }, { ...errorSpike, severity: 'medium' }] }],
      [OPENED + 120_000, { findings: [{ ...traces }, { ...errorSpike, severity: 'critical' }] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      `New finding [CRITICAL]: ${errorSpike.summary}`,
    ]);
  });

  it('measures an escalation from what was announced, not from a low point in between', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { findings: [{ ...traces, severity: 'low' }] }],
      [OPENED + 120_000, { findings: [{ ...traces, severity: 'high' }] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      `Escalated [MEDIUM → HIGH]: ${traces.summary}`,
    ]);
  });

  it('says nothing of a finding lowered or gone silently and back as it was announced', () => {
    const { incident } = jobs(
      [OPENED + 400_000, { findings: [{ ...traces, severity: 'low' }] }],
      [OPENED + 450_000, { findings: [{ ...traces }] }],
      [OPENED + 500_000, { findings: [] }],
      [OPENED + 550_000, { findings: [{ ...traces }] }],
    );

    expect(incident.lastUpdate).toBeUndefined();
    expect(incident.timeline ?? []).toEqual([]);
  });

  it('measures the next update from what the last one announced', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { severity: 'high', findings: [{ ...traces, severity: 'high' }] }],
      [OPENED + UPDATE_MIN_MS, {}],
      // Back down silently, then up again: HIGH was announced, so only CRITICAL is news.
      [OPENED + 400_000, { severity: 'medium', findings: [{ ...traces }] }],
      [OPENED + 450_000, { severity: 'critical', findings: [{ ...traces, severity: 'high' }] }],
      [OPENED + 2 * UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.revision).toBe(2);
    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual(['Severity raised from HIGH to CRITICAL']);
  });

  it('keeps adding up alerts and telling partial resolutions as before', () => {
    const { incident } = jobs(
      [OPENED + 60_000, { ...grownTo(3), severity: 'high' }],
      [OPENED + 90_000, { ...grownTo(5), severity: 'high', resolvedAlertCount: 1, firingCount: 4 }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      '4 new firing alerts (4 of 5 firing)',
      'Partially resolved: 1 of 5 alerts resolved',
      'Severity raised from MEDIUM to HIGH',
    ]);
  });
});

describe('an incident stored by the previous version (no record of what was announced)', () => {
  /** Raised to HIGH with a new finding and a new alert, held: the old version kept only the changes. */
  const held: Incident = {
    ...opened,
    announced: undefined,
    ...grownTo(2),
    severity: 'high',
    findings: [{ ...traces }, errorSpike],
    pendingChanges: [
      {
        kind: 'finding_added',
        ruleId: errorSpike.ruleId,
        severity: 'high',
        summary: `New finding [HIGH]: ${errorSpike.summary}`,
      },
      { kind: 'severity_up', from: 'medium', severity: 'high', summary: 'Severity raised from MEDIUM to HIGH' },
      { kind: 'alerts_firing', count: 1, summary: '1 new firing alert (2 of 2 firing)' },
    ],
  };

  it('announces its held changes merged with the new ones, as the previous version did', () => {
    const { incident } = jobsFrom(
      held,
      [OPENED + 120_000, { ...grownTo(3), severity: 'critical' }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      '2 new firing alerts (3 of 3 firing)',
      'Severity raised from MEDIUM to CRITICAL',
      `New finding [HIGH]: ${errorSpike.summary}`,
    ]);
  });

  it('measures its first change from the state it was stored in when nothing was held', () => {
    const { incident } = jobsFrom(
      { ...opened, announced: undefined },
      [OPENED + 60_000, { severity: 'high' }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual(['Severity raised from MEDIUM to HIGH']);
    expect(incident.announced).toEqual({ severity: 'high', findings: opened.announced?.findings });
  });

  it('announces the held new finding it named, not another finding of its rule that was announced', () => {
    // Opened with a deploy suspect; a deploy during the incident (the same rule) was found and held.
    const duringDeploy: Finding = {
      ...deploy,
      severity: 'medium',
      confidence: 'low',
      summary: 'Deploy of checkout (commit b0b0b0b by erin) 6 min after the alert started',
      evidence: [{ kind: 'deploy', ref: 'b0b0b0b', detail: 'erin deployed checkout during the incident' }],
    };
    const stored: Incident = {
      ...opened,
      announced: undefined,
      severity: 'high',
      findings: [{ ...deploy }, duringDeploy],
      pendingChanges: [
        {
          kind: 'finding_added',
          ruleId: duringDeploy.ruleId,
          severity: 'medium',
          summary: `New finding [MEDIUM]: ${duringDeploy.summary}`,
        },
      ],
    };

    const { incident } = jobsFrom(stored, [OPENED + UPDATE_MIN_MS, {}]);

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual([
      `New finding [MEDIUM]: ${duringDeploy.summary}`,
    ]);
  });

  it('drops a held change undone meanwhile, as the previous version did', () => {
    const { incident } = jobsFrom(
      held,
      [OPENED + 120_000, { severity: 'medium', findings: [{ ...traces }] }],
      [OPENED + UPDATE_MIN_MS, {}],
    );

    expect(incident.lastUpdate?.changes.map((c) => c.summary)).toEqual(['1 new firing alert (2 of 2 firing)']);
  });
});
