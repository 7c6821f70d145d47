/**
 * Logs (Powertools Logger JSON lines) and metrics (Powertools Metrics EMF lines), captured from the
 * process's stdout/stderr while the local stack serves real requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '@incident-pilot/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppMetrics, withMetrics } from '../../functions/lib/metrics.js';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const TOKEN = 'tok-observability-0d9f';
const fixture = () =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/firing-single-alert.json'), 'utf8'));

type Line = Record<string, unknown>;

/** Every JSON line written to stdout or stderr since `start`. */
function captureOutput() {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream);
    return vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    }) as typeof stream.write);
  });
  return {
    text: () => chunks.join(''),
    lines(): Line[] {
      return chunks
        .join('')
        .split('\n')
        .flatMap((l) => {
          try {
            const parsed = JSON.parse(l);
            return parsed && typeof parsed === 'object' ? [parsed as Line] : [];
          } catch {
            return [];
          }
        });
    },
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

/** EMF documents, flattened to `{name, value, dimensions}` per metric. */
function emfMetrics(lines: Line[]) {
  return lines.flatMap((line) => {
    const aws = line._aws as
      | {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
        }
      | undefined;
    if (!aws) return [];
    return aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((m) => ({
        namespace: directive.Namespace,
        name: m.Name,
        unit: m.Unit,
        value: line[m.Name] as number | number[],
        dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((d) => [d, line[d]])),
      })),
    );
  });
}

const total = (value: number | number[]) => [value].flat().reduce((a, b) => a + b, 0);

describe('observability: log lines and EMF metrics', () => {
  let stack: TestStack;
  let slack: CaptureServer;
  let output: ReturnType<typeof captureOutput>;
  let incidentId: string;

  beforeAll(async () => {
    slack = await startCaptureServer();
    stack = await startTestStack({
      env: {
        INCIDENT_PILOT_TOKEN: TOKEN,
        INCIDENT_PILOT_LOG_LEVEL: 'info',
        INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/hook`,
        POWERTOOLS_METRICS_DISABLED: 'false',
      },
    });
    output = captureOutput();
    // A deploy just before the alert, so that a rule fires and a finding is counted.
    await stack.api('/context/deploys', {
      token: TOKEN,
      body: { service: 'checkout', commit: 'abc1234', author: 'dana', when: '2026-11-25T03:56:00Z' },
    });
    const first = await stack.api('/alerts', { token: TOKEN, body: fixture() });
    const again = await stack.api('/alerts', { token: TOKEN, body: fixture() });
    const invalid = await stack.api('/alerts', { token: TOKEN, body: { ...fixture(), status: 'burning' } });
    const unauthorized = await stack.api('/alerts', { token: 'wrong', body: fixture() });
    expect([first.status, again.status, invalid.status, unauthorized.status]).toEqual([202, 202, 400, 401]);
    await slack.waitForRequests(1, 15_000);
    const job = await waitFor(async () => output.lines().find((l) => l.message === 'job'));
    incidentId = String(job.incidentId);
  });
  afterAll(async () => {
    output?.restore();
    await stack?.destroy();
    await slack?.close();
  });

  it('writes one info line per request: route, status, error code, latency, request ids, alerts accepted and duplicate', () => {
    const lines = output.lines().filter((l) => l.message === 'request' && l.route === 'POST /alerts');

    expect(lines.map((l) => l.status)).toEqual([202, 202, 400, 401]);
    // A refusal names its error code, as the body does, so Logs Insights can count refusals by reason.
    expect(lines.map((l) => l.error)).toEqual([undefined, undefined, 'invalid_request', 'unauthorized']);
    expect(lines[0]).toMatchObject({ level: 'INFO', service: 'incident-pilot', accepted: 1, duplicates: 0 });
    expect(lines[1]).toMatchObject({ accepted: 0, duplicates: 1 });
    for (const line of lines) {
      expect(line.latencyMs).toEqual(expect.any(Number));
      expect(line.requestId).toEqual(expect.any(String));
      expect(line.correlation_id).toBe(line.requestId);
      expect(line.function_request_id).toEqual(expect.any(String));
    }
    expect(new Set(lines.map((l) => l.requestId)).size).toBe(4);
    const context = output.lines().find((l) => l.message === 'request' && l.route === 'POST /context/{kind}');
    expect(context).toMatchObject({ status: 202 });
  });

  it('never logs a body or a secret', () => {
    const text = output.text();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('wrong');
    expect(text).not.toContain('Error rate above 5%');
    expect(text).not.toContain('abc1234');
    expect(text).not.toContain(slack.url);
  });

  it('writes one info line per job: group, incident, outcome, findings, notifications, latency', () => {
    const [request] = output.lines().filter((l) => l.message === 'request' && l.route === 'POST /alerts');
    const jobs = output.lines().filter((l) => l.message === 'job');

    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      level: 'INFO',
      incidentId: expect.stringMatching(/^inc-/),
      outcome: 'open',
      notifications: 1,
      latencyMs: expect.any(Number),
    });
    expect(jobs[0]?.findings).toBeGreaterThanOrEqual(1);
    // The group id is the correlation id that joins the request line to the job line.
    expect(request?.groupIds).toEqual([jobs[0]?.groupId]);
    expect(jobs[0]?.correlation_id).toBe(jobs[0]?.groupId);
  });

  it('emits EMF metrics in the IncidentPilot namespace: alerts, duplicates, rejections by reason, incidents', () => {
    const metrics = emfMetrics(output.lines());
    const sum = (name: string, dims: Record<string, string> = {}) =>
      metrics
        .filter((m) => m.name === name && Object.entries(dims).every(([k, v]) => m.dimensions[k] === v))
        .reduce((n, m) => n + total(m.value), 0);

    expect(new Set(metrics.map((m) => m.namespace))).toEqual(new Set(['IncidentPilot']));
    expect(metrics.every((m) => m.dimensions.service === 'incident-pilot')).toBe(true);
    expect(sum('AlertsReceived')).toBe(1);
    expect(sum('AlertsDuplicate')).toBe(1);
    expect(sum('AlertsRejected', { reason: 'invalid_request' })).toBe(1);
    expect(sum('AlertsRejected', { reason: 'unauthorized' })).toBe(1);
    expect(sum('IncidentsOpened')).toBe(1);
  });

  it('emits notifications and their latency per sink, findings per rule and job duration', async () => {
    const incident = (await stack.api(`/api/incidents/${incidentId}`, { token: TOKEN })).body;
    const metrics = emfMetrics(output.lines());
    const of = (name: string) => metrics.filter((m) => m.name === name);

    expect(of('NotificationsSent').find((m) => m.dimensions.sink === 'slack')).toMatchObject({ value: 1 });
    const latency = of('NotificationLatency').find((m) => m.dimensions.sink === 'slack');
    // The fixture's alert started on 2026-11-25: the latency is measured from then to Slack's 200.
    expect(latency).toMatchObject({ unit: 'Milliseconds' });
    expect(total(latency?.value ?? 0)).toBeGreaterThan(Date.now() - Date.parse('2026-11-25T03:59:01.056Z') - 60_000);
    const rules = of('Findings').map((m) => m.dimensions.rule);
    expect(rules.sort()).toEqual(incident.findings.map((f: { ruleId: string }) => f.ruleId).sort());
    expect(rules).toContain('deploy.recent_correlated');
    expect(of('JobDuration')).toEqual([expect.objectContaining({ unit: 'Milliseconds' })]);
  });
});

describe('counters as metrics', () => {
  it('emits the metrics of a counter increment even when writing the counters fails', async () => {
    const counted: [string, number | undefined][] = [];
    const metrics = { count: (name: string, value?: number) => void counted.push([name, value]) } as AppMetrics;
    const store = {
      addStats: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    } as unknown as Store;

    await expect(withMetrics(store, metrics).addStats({ notificationsFailed: 2, jobsFailed: 1 })).rejects.toThrow();

    expect(counted.sort()).toEqual([
      ['JobsFailed', 1],
      ['NotificationsFailed', 2],
    ]);
  });
});
