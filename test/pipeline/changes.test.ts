import { type Finding, type Incident, type IncidentAlert, recordChanges } from '@incident-pilot/core';
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
const opened = baseIncident({
  severity: 'medium',
  findings: [{ ...traces }],
  alertCount: 1,
  firingCount: 1,
  resolvedAlertCount: 0,
});
const [firstAlert] = opened.alerts as [IncidentAlert];

/** The group grown to `n` firing alerts. */
const grownTo = (n: number): Partial<Incident> => ({
  alerts: Array.from({ length: n }, (_, i) =>
    i === 0 ? firstAlert : { ...firstAlert, fingerprint: `f${String(i).padStart(15, '0')}` },
  ),
  alertCount: n,
  firingCount: n,
});

/** Records the incident's successive states the way the worker's jobs do, each at its time. */
function jobs(...steps: [atMs: number, state: Partial<Incident>][]) {
  let incident = opened;
  let wakeAt: number | null = null;
  for (const [atMs, state] of steps) {
    ({ incident, wakeAt } = recordChanges(incident, { ...incident, ...state }, atMs, UPDATE_MIN_MS));
  }
  return { incident, wakeAt };
}

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
