import { type AlertGroup, type AlertInstance, splitHeartbeats } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const alert = (alertname: string, status: AlertInstance['status'] = 'firing'): AlertInstance => ({
  fingerprint: alertname.length.toString(16).padStart(16, '0'),
  status,
  startsAt: '2026-11-30T08:00:00Z',
  endsAt: null,
  labels: { alertname },
  annotations: {},
  generatorURL: '',
  service: 'svc',
  alertname,
});

const group = (alerts: AlertInstance[]): AlertGroup => ({
  groupKey: `{}:{${alerts.map((a) => a.alertname).join(',')}}`,
  status: 'firing',
  receiver: 'incident-pilot',
  externalURL: '',
  truncatedAlerts: 0,
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  alerts,
});

describe('splitHeartbeats', () => {
  it.each([
    ['a Watchdog group', [group([alert('Watchdog')])], 1, []],
    ['an ordinary group', [group([alert('HighErrorRate')])], 0, [['HighErrorRate']]],
    [
      'a mixed group (the Watchdog leaves, the rest stays)',
      [group([alert('Watchdog'), alert('DiskFull')])],
      1,
      [['DiskFull']],
    ],
    // A resolved Watchdog means Prometheus stopped evaluating it: no heartbeat, and no incident either.
    ['a resolved Watchdog', [group([alert('Watchdog', 'resolved')])], 0, []],
    ['two groups', [group([alert('Watchdog')]), group([alert('Watchdog'), alert('Watchdog')])], 3, []],
  ])('counts heartbeats and keeps the other alerts: %s', (_, groups, heartbeats, kept) => {
    const result = splitHeartbeats(groups, 'Watchdog');

    expect(result.heartbeats).toBe(heartbeats);
    expect(result.groups.map((g) => g.alerts.map((a) => a.alertname))).toEqual(kept);
  });

  it('uses the configured alertname', () => {
    const groups = [group([alert('Watchdog')]), group([alert('DeadMansSwitch')])];

    const result = splitHeartbeats(groups, 'DeadMansSwitch');

    expect(result).toMatchObject({ heartbeats: 1, groups: [{ alerts: [{ alertname: 'Watchdog' }] }] });
  });
});
