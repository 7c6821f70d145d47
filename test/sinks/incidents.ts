/** Incidents for the sink tests: a plain one, and one carrying a hostile string in every untrusted field. */
import type { Finding, Incident, IncidentEvent } from '@incident-pilot/core';

export const COMMIT = '9f3c2ab71d04';
export const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
export const FINGERPRINT = 'c0ffee1234abcd56';

export function baseIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-20261125-checkout-0001',
    status: 'open',
    severity: 'critical',
    service: 'checkout',
    alertname: 'HighErrorRate',
    title: 'HighErrorRate on checkout',
    team: 'payments',
    groupKey: '{}:{alertname="HighErrorRate"}',
    openedAt: '2026-11-25T03:59:04.097Z',
    resolvedAt: null,
    resolution: null,
    lastSeenAt: '2026-11-25T04:01:00.000Z',
    alertCount: 3,
    firingCount: 2,
    resolvedAlertCount: 1,
    truncatedAlerts: 0,
    alerts: [
      {
        fingerprint: FINGERPRINT,
        startsAt: '2026-11-25T03:58:00.000Z',
        endsAt: null,
        status: 'firing',
        labels: { alertname: 'HighErrorRate', service: 'checkout', instance: 'checkout-7d9f:8080' },
        summary: '5xx ratio above 5% for 5 minutes',
        lastSeenAt: '2026-11-25T04:01:00.000Z',
      },
    ],
    findings: [
      {
        ruleId: 'deploy.recent_correlated',
        severity: 'high',
        confidence: 'high',
        summary: `Deploy ${COMMIT} of checkout 4 minutes before the alert`,
        suggestion: `kubectl rollout undo deployment/checkout --to-revision=41`,
        evidence: [
          {
            kind: 'deploy',
            ref: COMMIT,
            detail: 'alice deployed checkout 4m before the alert',
            at: '2026-11-25T03:55:00.000Z',
          },
        ],
      },
      {
        ruleId: 'traces.p99_regression',
        severity: 'medium',
        confidence: 'medium',
        summary: 'p99 latency of checkout is 2400ms over 20 traces (threshold 1000ms)',
        suggestion: 'open the slowest trace in the tracing UI',
        evidence: [{ kind: 'trace', ref: TRACE, detail: 'slowest trace took 2400ms' }],
      },
    ],
    narration: '',
    previousIncidentId: null,
    version: 1,
    ...overrides,
  };
}

/** Strings Slack would act on, or that stress escaping and truncation. */
export const HOSTILE = [
  '<!channel> wake up',
  '<!here>',
  '<!everyone>',
  '<@U024BE7LH>',
  '<#C123|general>',
  '<!subteam^S123>',
  '<http://evil.example|click me>',
  '<https://evil.example>',
  '<!date^1392734382^{date}|x>',
  '&amp; literal &lt;b&gt;',
  'a & b < c > d',
  '日本語 🚨 Ünïcödé \u202Eevil\u202C',
  '`rm -rf /` ```block``` *bold* _it_ ~strike~ > quote',
  '@here @channel bare',
  'line1\nline2\r\n\u001b[31mred\u001b[0m',
] as const;

/** `<!channel>` repeated past every Slack limit, so truncation lands among entities. */
export const LONG_HOSTILE = '<!channel>&'.repeat(800);

function hostile(i: number): string {
  return HOSTILE[i % HOSTILE.length] ?? '';
}

/** A finding whose every string is hostile. */
function hostileFinding(i: number): Finding {
  return {
    ruleId: `rule.${hostile(i)}`,
    severity: 'high',
    confidence: 'low',
    summary: `${hostile(i)} summary ${hostile(i + 1)}`,
    suggestion: `${hostile(i + 2)} && echo ${hostile(i + 3)}`,
    evidence: [
      { kind: 'log', ref: hostile(i + 4), detail: `log line: ${hostile(i + 5)}` },
      { kind: 'deploy', ref: hostile(i + 6), detail: `commit message: ${hostile(i + 7)}` },
      { kind: 'trace', ref: hostile(i + 8), detail: LONG_HOSTILE },
    ],
  };
}

/** An incident with hostile strings in labels, annotations, title, service, team, ids and all findings. */
export function hostileIncident(): Incident {
  const labels: Record<string, string> = {};
  for (const [i, s] of HOSTILE.entries()) labels[`label_${i}_${s}`] = s;
  return baseIncident({
    id: `inc-${hostile(0)}`,
    title: `${HOSTILE.join(' ')} ${LONG_HOSTILE}`,
    service: hostile(1),
    alertname: hostile(2),
    team: hostile(3),
    groupKey: hostile(4),
    truncatedAlerts: 3,
    previousIncidentId: `prev-${hostile(5)}`,
    alerts: HOSTILE.map((s, i) => ({
      fingerprint: s,
      startsAt: '2026-11-25T03:58:00.000Z',
      endsAt: null,
      status: i % 2 ? 'resolved' : 'firing',
      labels,
      summary: `${s} annotation ${LONG_HOSTILE}`,
      lastSeenAt: '2026-11-25T04:01:00.000Z',
    })),
    findings: HOSTILE.map((_, i) => hostileFinding(i)),
  });
}

/** Events for the sink tests: the plain incident opened, and resolved with every alert. */
export const opened = (incident = baseIncident()): IncidentEvent => ({ type: 'opened', incident });
export const resolved = (incident = baseIncident()): IncidentEvent => ({
  type: 'resolved',
  incident: {
    ...incident,
    status: 'resolved',
    resolvedAt: '2026-11-25T05:00:00.000Z',
    resolution: 'all_alerts_resolved',
  },
});

/** The error a promise rejects with; fails the test when it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}
