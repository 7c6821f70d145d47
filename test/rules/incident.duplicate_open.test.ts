import type { OpenIncidentRef } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { at, evaluate, MINUTE, ruleById, ruleContext } from '../support/rule-context.js';

const rule = ruleById('incident.duplicate_open');

const OURS = '0123456789abcdef';
const OUR_GROUP = '{}:{alertname="HighErrorRate", service="api-gateway"}';

const incident = (patch: Partial<OpenIncidentRef> & { id: string }): OpenIncidentRef => ({
  service: 'checkout',
  alertname: 'LatencyHigh',
  fingerprints: [],
  groupKey: `{}:{other="${patch.id}"}`,
  status: 'open',
  openedAt: at(-10 * MINUTE),
  ...patch,
});

describe('rule incident.duplicate_open', () => {
  it.each<{ name: string; incidents: OpenIncidentRef[]; id: string; confidence: string }>([
    {
      name: 'an incident holding one of our fingerprints',
      incidents: [incident({ id: 'inc-1', fingerprints: ['ffff000011112222', OURS] })],
      id: 'inc-1',
      confidence: 'high',
    },
    {
      name: 'a single `fingerprint` field, in upper case',
      incidents: [incident({ id: 'inc-2', fingerprint: OURS.toUpperCase() })],
      id: 'inc-2',
      confidence: 'high',
    },
    {
      name: 'same service and alertname, other fingerprints',
      incidents: [incident({ id: 'inc-3', service: 'api-gateway', alertname: 'HighErrorRate' })],
      id: 'inc-3',
      confidence: 'medium',
    },
    {
      name: 'a fingerprint match outranks a newer service + alertname match',
      incidents: [
        incident({ id: 'inc-new', service: 'api-gateway', alertname: 'HighErrorRate', openedAt: at(-MINUTE) }),
        incident({ id: 'inc-old', fingerprints: [OURS], openedAt: at(-60 * MINUTE) }),
      ],
      id: 'inc-old',
      confidence: 'high',
    },
    {
      name: 'of two service + alertname matches, the newest',
      incidents: [
        incident({ id: 'inc-a', service: 'api-gateway', alertname: 'HighErrorRate', openedAt: at(-30 * MINUTE) }),
        incident({ id: 'inc-b', service: 'api-gateway', alertname: 'HighErrorRate', openedAt: at(-2 * MINUTE) }),
      ],
      id: 'inc-b',
      confidence: 'medium',
    },
  ])('fires: $name → $id', ({ incidents, id, confidence }) => {
    const ctx = ruleContext({ fingerprints: [OURS], openIncidents: incidents });

    const findings = evaluate(rule, ctx);

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'incident.duplicate_open', severity: 'low', confidence });
    expect(findings[0]?.evidence[0]).toMatchObject({ kind: 'incident', ref: id });
    expect(findings[0]?.evidence).toHaveLength(incidents.length);
    expect(findings[0]?.summary).toContain(`incident ${id}`);
    expect(findings[0]?.suggestion).toContain(`/api/incidents/${id}`);
  });

  it.each<{ name: string; incidents: OpenIncidentRef[] }>([
    { name: 'no open incidents', incidents: [] },
    {
      name: "the group's own incident (same groupKey)",
      incidents: [
        incident({
          id: 'own',
          groupKey: OUR_GROUP,
          fingerprints: [OURS],
          service: 'api-gateway',
          alertname: 'HighErrorRate',
        }),
      ],
    },
    {
      name: 'a resolved incident with our fingerprint',
      incidents: [incident({ id: 'done', fingerprints: [OURS], status: 'resolved' })],
    },
    { name: 'same alertname, other service', incidents: [incident({ id: 'x', alertname: 'HighErrorRate' })] },
    { name: 'same service, other alertname', incidents: [incident({ id: 'y', service: 'api-gateway' })] },
    { name: 'other fingerprints only', incidents: [incident({ id: 'z', fingerprints: ['ffff000011112222'] })] },
  ])('stays quiet: $name', ({ incidents }) => {
    const ctx = ruleContext({ fingerprints: [OURS], groupKey: OUR_GROUP, openIncidents: incidents });

    const findings = evaluate(rule, ctx);

    expect(findings).toEqual([]);
  });

  it('counts the other matches in words that agree with their number', () => {
    const matches = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        incident({ id: `inc-${i}`, fingerprints: [OURS], openedAt: at(-i * MINUTE) }),
      );
    const summary = (n: number) =>
      evaluate(rule, ruleContext({ fingerprints: [OURS], openIncidents: matches(n) }))[0]?.summary;

    expect(summary(1)).not.toContain('more open');
    expect(summary(2)).toContain('; 1 more open incident matches');
    expect(summary(3)).toContain('; 2 more open incidents match');
  });
});
