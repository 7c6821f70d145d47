import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AlertRecord,
  applyAlerts,
  belongsTo,
  groupIdOf,
  type Incident,
  incidentIdOf,
  MAX_TRACKED_ALERTS,
  parseAlertPayload,
  splitOverflow,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

const first = <T>(items: T[]): T => {
  const [item] = items;
  if (!item) throw new Error('empty fixture');
  return item;
};

/** The records `POST /alerts` would store for a fixture delivered at `receivedAt`. */
function recordsOf(name: string, receivedAt: string): AlertRecord[] {
  const [group] = parseAlertPayload(fixture(name), receivedAt);
  if (!group) throw new Error('no group');
  return group.alerts.map((a) => ({
    ...a,
    groupKey: group.groupKey,
    groupId: groupIdOf(group.groupKey),
    receivedAt,
    truncatedAlerts: group.truncatedAlerts,
    groupStatus: group.status,
  }));
}

function blank(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-1',
    status: 'open',
    severity: 'high',
    service: 'api',
    alertname: 'HighLatency',
    title: 'HighLatency on api',
    team: 'payments',
    groupKey: 'g',
    openedAt: '2026-11-25T04:00:00Z',
    resolvedAt: null,
    resolution: null,
    lastSeenAt: '2026-11-25T04:00:00Z',
    alertCount: 0,
    firingCount: 0,
    resolvedAlertCount: 0,
    truncatedAlerts: 0,
    alerts: [],
    findings: [],
    narration: '',
    previousIncidentId: null,
    version: 1,
    ...overrides,
  };
}

describe('incident lifecycle', () => {
  it('attaches every alert of a group and counts them', () => {
    const { incident, resolvedNow } = applyAlerts(
      blank(),
      recordsOf('firing-group-3-alerts.json', '2026-11-25T04:00:01Z'),
      'all',
    );
    expect(incident.alertCount).toBe(3);
    expect(incident.firingCount).toBe(3);
    expect(incident.status).toBe('open');
    expect(resolvedNow).toBe(false);
  });

  it('is idempotent: the same delivery applied twice changes nothing', () => {
    const records = recordsOf('firing-group-3-alerts.json', '2026-11-25T04:00:01Z');
    const once = applyAlerts(blank(), records, 'all').incident;
    const twice = applyAlerts(once, records, 'all').incident;
    expect(twice).toEqual(once);
  });

  it('shows a partially resolved group as open with one alert resolved', () => {
    const { incident } = applyAlerts(
      blank(),
      recordsOf('firing-group-partially-resolved-1-of-3.json', '2026-11-25T04:01:00Z'),
      'all',
    );
    expect(incident.status).toBe('open');
    expect(incident.resolvedAlertCount).toBe(1);
    expect(incident.firingCount).toBe(2);
    expect(incident.lastSeenAt).toBe('2026-11-25T04:01:00Z');
  });

  it('resolves when every alert has resolved (policy all), not before', () => {
    const partial = applyAlerts(
      blank(),
      recordsOf('firing-group-partially-resolved-1-of-3.json', '2026-11-25T04:01:00Z'),
      'all',
    );
    const done = applyAlerts(
      partial.incident,
      recordsOf('resolved-group-after-partial.json', '2026-11-25T04:02:00Z'),
      'all',
    );
    expect(partial.resolvedNow).toBe(false);
    expect(done.resolvedNow).toBe(true);
    expect(done.incident.status).toBe('resolved');
    expect(done.incident.resolution).toBe('all_alerts_resolved');
    expect(done.incident.resolvedAt).not.toBeNull();
  });

  it('resolves on the first resolved alert under policy any', () => {
    const { incident, resolvedNow } = applyAlerts(
      blank(),
      recordsOf('firing-group-partially-resolved-1-of-3.json', '2026-11-25T04:01:00Z'),
      'any',
    );
    expect(resolvedNow).toBe(true);
    expect(incident.resolution).toBe('any_alert_resolved');
  });

  it('grows when a second alert joins the group, keeping the first one attached', () => {
    const grown = recordsOf('firing-group-grown-1-to-2-alerts.json', '2026-11-25T04:00:03Z');
    const first = applyAlerts(blank(), grown.slice(0, 1), 'all');
    const both = applyAlerts(first.incident, grown, 'all');
    expect(first.incident.alertCount).toBe(1);
    expect(both.incident.alertCount).toBe(2);
    expect(both.incident.alerts.map((a) => a.fingerprint)).toEqual(['2e981b451ba1f0b8', '4e939a2f4c808c63']);
  });

  it('records truncated alerts and stays open while unseen alerts may still fire', () => {
    const firing = recordsOf('firing-truncated-max-alerts-2-of-5.json', '2026-11-25T04:00:01Z');
    const opened = applyAlerts(blank(), firing, 'all');
    // Only the two alerts we saw, resolved while the group still fires: not enough to resolve.
    const seenResolved = firing.map((r) => ({
      ...r,
      status: 'resolved' as const,
      endsAt: '2026-11-25T04:05:00Z',
      receivedAt: '2026-11-25T04:05:01Z',
    }));
    const stillOpen = applyAlerts(opened.incident, seenResolved, 'all');
    const done = applyAlerts(
      opened.incident,
      recordsOf('resolved-truncated-max-alerts-2-of-5.json', '2026-11-25T04:06:00Z'),
      'all',
    );
    expect(opened.incident.truncatedAlerts).toBe(3);
    expect(stillOpen.incident.status).toBe('open');
    expect(done.incident.status).toBe('resolved');
  });

  it('never reopens a resolved incident', () => {
    const resolved = blank({ status: 'resolved', resolvedAt: '2026-11-25T04:10:00Z' });
    const { incident } = applyAlerts(resolved, recordsOf('firing-single-alert.json', '2026-11-25T04:20:00Z'), 'all');
    expect(incident).toBe(resolved);
  });

  it('takes an alert that fires again after a resolution by hand for a recurrence, and its re-sends for the old incident', () => {
    const opened = applyAlerts(blank(), recordsOf('firing-single-alert.json', '2026-11-25T04:00:01Z'), 'all').incident;
    // Resolved by hand while the alert still fires: its entry never gets an endsAt.
    const byHand: Incident = {
      ...opened,
      status: 'resolved',
      resolution: 'manual',
      resolvedAt: '2026-11-25T05:00:00Z',
    };
    const [resent] = recordsOf('firing-single-alert.json', '2026-11-25T05:10:00Z');
    if (!resent) throw new Error('no record');

    expect(opened.alerts[0]?.endsAt).toBeNull();
    expect(belongsTo(byHand, resent)).toBe(true);
    expect(belongsTo(byHand, { ...resent, startsAt: '2026-11-25T05:20:00Z' })).toBe(false);
  });

  it('derives a stable incident id per group and sequence', () => {
    expect(incidentIdOf('g', 1)).toBe(incidentIdOf('g', 1));
    expect(incidentIdOf('g', 1)).not.toBe(incidentIdOf('g', 2));
    expect(incidentIdOf('g', 1)).toMatch(/^inc-[0-9a-f]{12}$/);
  });
});

describe('incident lifecycle when Alertmanager moves startsAt', () => {
  const firing = (startsAt: string, receivedAt: string): AlertRecord => ({
    ...first(recordsOf('firing-single-alert.json', receivedAt)),
    startsAt,
  });

  it('keeps one alert per fingerprint, with the earliest startsAt', () => {
    const records = [
      firing('2026-11-25T04:00:00Z', '2026-11-25T04:00:01Z'),
      firing('2026-11-25T03:59:00Z', '2026-11-25T04:00:05Z'),
    ];
    const { incident } = applyAlerts(blank(), records, 'all');
    expect(incident.alertCount).toBe(1);
    expect(incident.alerts[0]?.startsAt).toBe('2026-11-25T03:59:00Z');
  });

  it('resolves when the resolution carries the other startsAt', () => {
    const opened = applyAlerts(blank(), [firing('2026-11-25T04:00:00Z', '2026-11-25T04:00:01Z')], 'all');
    const resolved: AlertRecord = {
      ...firing('2026-11-25T03:59:00Z', '2026-11-25T04:10:00Z'),
      status: 'resolved',
      endsAt: '2026-11-25T04:09:00Z',
      groupStatus: 'resolved',
    };
    const { incident, resolvedNow } = applyAlerts(opened.incident, [resolved], 'all');
    expect(resolvedNow).toBe(true);
    expect(incident.alertCount).toBe(1);
  });

  it('ignores a firing record older than a resolution it already has (a lagging HA peer)', () => {
    const f = firing('2026-11-25T04:00:00Z', '2026-11-25T04:00:01Z');
    const second = first(recordsOf('firing-group-3-alerts.json', '2026-11-25T04:00:01Z'));
    const r: AlertRecord = {
      ...f,
      status: 'resolved',
      endsAt: '2026-11-25T04:05:00Z',
      receivedAt: '2026-11-25T04:05:01Z',
    };
    const late: AlertRecord = { ...f, receivedAt: '2026-11-25T04:05:02Z' };
    const { incident } = applyAlerts(blank(), [f, second, r, late], 'all');
    expect(incident.alerts.find((a) => a.fingerprint === f.fingerprint)?.status).toBe('resolved');
    expect(incident.alertCount).toBe(2);
  });
});

describe('incident lifecycle for very large groups', () => {
  const many = (n: number, status: 'firing' | 'resolved' = 'firing'): AlertRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      ...first(recordsOf('firing-single-alert.json', '2026-11-25T04:00:01Z')),
      fingerprint: i.toString(16).padStart(16, '0'),
      status,
      endsAt: status === 'resolved' ? '2026-11-25T04:30:00Z' : null,
      groupStatus: status,
      receivedAt: status === 'resolved' ? '2026-11-25T04:30:01Z' : '2026-11-25T04:00:01Z',
    }));

  it('lists at most MAX_TRACKED_ALERTS alerts and leaves the rest to the caller as overflow', () => {
    const records = many(MAX_TRACKED_ALERTS + 10);
    const { overflow } = splitOverflow(blank(), records);
    const { incident } = applyAlerts(blank(), records, 'all', { added: overflow.length, resolved: 0 });
    expect(overflow).toHaveLength(10);
    expect(incident.alerts).toHaveLength(MAX_TRACKED_ALERTS);
    expect(incident.overflowCount).toBe(10);
    expect(incident.alertCount).toBe(MAX_TRACKED_ALERTS + 10);
    expect(incident.firingCount).toBe(MAX_TRACKED_ALERTS + 10);
    expect(incident.alerts[0]?.summary).not.toBe('');
    expect(incident.alerts[MAX_TRACKED_ALERTS - 1]?.summary).toBe('');
  });

  it('keeps an incident item small whatever the group size', () => {
    const records = many(MAX_TRACKED_ALERTS + 20_000);
    const { incident } = applyAlerts(blank(), records, 'all', { added: 20_000, resolved: 0 });
    // Well inside DynamoDB's 400 KB item limit, with room for findings, narration and timeline.
    expect(JSON.stringify(incident).length).toBeLessThan(25_000);
    expect(incident.alertCount).toBe(MAX_TRACKED_ALERTS + 20_000);
  });

  it('takes a late firing record of an overflow alert for part of the closed incident, not a new one', () => {
    const opened = applyAlerts(blank(), many(MAX_TRACKED_ALERTS + 10), 'all', { added: 10, resolved: 0 }).incident;
    const closed = applyAlerts(opened, many(MAX_TRACKED_ALERTS + 10, 'resolved'), 'all', { added: 0, resolved: 10 });
    const [lateOverflow] = many(MAX_TRACKED_ALERTS + 10).slice(-1);
    if (!lateOverflow) throw new Error('no record');

    expect(closed.incident.status).toBe('resolved');
    expect(belongsTo(closed.incident, lateOverflow)).toBe(true);
    expect(belongsTo(closed.incident, { ...lateOverflow, startsAt: '2026-11-25T05:00:00Z' })).toBe(false);
  });

  it("resolves on an overflow alert's resolution under policy any", () => {
    const opened = applyAlerts(blank(), many(MAX_TRACKED_ALERTS + 10), 'any', { added: 10, resolved: 0 }).incident;

    const { incident } = applyAlerts(opened, [], 'any', { added: 0, resolved: 1 });

    expect(incident).toMatchObject({ status: 'resolved', resolution: 'any_alert_resolved' });
    expect(incident.resolvedAt).not.toBeNull();
  });

  it('resolves an overflowing incident only when the group itself resolves', () => {
    const opened = applyAlerts(blank(), many(MAX_TRACKED_ALERTS + 10), 'all', { added: 10, resolved: 0 }).incident;
    const trackedResolved = many(MAX_TRACKED_ALERTS, 'resolved').map((r) => ({ ...r, groupStatus: 'firing' as const }));
    const stillOpen = applyAlerts(opened, trackedResolved, 'all');
    const done = applyAlerts(opened, many(MAX_TRACKED_ALERTS + 10, 'resolved'), 'all', { added: 0, resolved: 10 });
    expect(stillOpen.incident.status).toBe('open');
    expect(stillOpen.incident.firingCount).toBe(10);
    expect(done.incident.status).toBe('resolved');
    expect(done.incident.resolvedAlertCount).toBe(MAX_TRACKED_ALERTS + 10);
  });
});

describe('incident lifecycle when an alert fires again while its incident is open', () => {
  const [steady, flapping] = recordsOf('firing-group-3-alerts.json', '2026-11-25T04:00:01Z');
  if (!steady || !flapping) throw new Error('fixture has 3 alerts');
  const at = (minutes: number) => new Date(Date.parse('2026-11-25T04:00:00Z') + minutes * 60_000).toISOString();
  /** The flapping alert's n-th occurrence: firing from minute 10n, resolved at 10n + 5. */
  const occurrence = (n: number): AlertRecord[] => [
    { ...flapping, startsAt: at(10 * n), receivedAt: at(10 * n + 1) },
    { ...flapping, startsAt: at(10 * n), status: 'resolved', endsAt: at(10 * n + 5), receivedAt: at(10 * n + 6) },
  ];

  it('keeps one entry per alert however often it flaps, so the incident stays one small item', () => {
    let incident = applyAlerts(blank(), [steady, ...occurrence(0)], 'all').incident;
    for (let n = 1; n <= 500; n++) incident = applyAlerts(incident, occurrence(n), 'all').incident;

    expect(incident.alerts).toHaveLength(2);
    expect(incident).toMatchObject({ status: 'open', alertCount: 2, firingCount: 1, resolvedAlertCount: 1 });
    expect(incident.alerts.find((a) => a.fingerprint === flapping.fingerprint)).toMatchObject({
      startsAt: at(5000),
      endsAt: at(5005),
    });
  });

  it('shows a flapping alert firing again, and ignores a late resolution of its earlier occurrence', () => {
    const [firing, resolved] = occurrence(1);
    if (!firing || !resolved) throw new Error('no records');
    const opened = applyAlerts(blank(), [steady, ...occurrence(0)], 'all').incident;
    const again = applyAlerts(opened, [firing], 'all').incident;
    const late = applyAlerts(again, [{ ...first(occurrence(0).slice(1)), endsAt: at(6), receivedAt: at(12) }], 'all');

    expect(again).toMatchObject({ alertCount: 2, firingCount: 2, resolvedAlertCount: 0 });
    expect(late.incident.alerts).toEqual(again.alerts);
    expect(
      belongsTo(
        applyAlerts(again, [resolved, { ...steady, status: 'resolved', endsAt: at(20) }], 'all').incident,
        firing,
      ),
    ).toBe(true);
  });
});

describe('which incident a late record belongs to', () => {
  const [one, two] = recordsOf('firing-group-3-alerts.json', '2026-11-25T04:00:01Z');
  if (!one || !two) throw new Error('fixture has 3 alerts');

  it('takes an alert still firing when its incident resolved (policy any) to end there: a later start is a recurrence', () => {
    const opened = applyAlerts(blank(), [one, two], 'any').incident;
    const closed = applyAlerts(
      opened,
      [{ ...one, status: 'resolved', endsAt: '2026-11-25T04:10:00Z', receivedAt: '2026-11-25T04:10:01Z' }],
      'any',
    ).incident;

    expect(closed.status).toBe('resolved');
    expect(belongsTo(closed, { ...two, status: 'resolved', endsAt: '2026-11-25T04:20:00Z' })).toBe(true);
    expect(belongsTo(closed, { ...two, startsAt: '2026-11-25T04:30:00Z' })).toBe(false);
  });
});
