import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const sampleAlert = () =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/sample_alert.json'), 'utf8'));

describe('local stack: the quick demo over HTTP', () => {
  let stack: TestStack;
  let incidentId: string;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  it('correlates a deploy 3 minutes ago and 10 error lines into one incident', async () => {
    const now = Date.now();
    const deploy = await stack.api('/context/deploys', {
      body: {
        service: 'api-gateway',
        commit: 'a1b2c3d',
        author: 'dana',
        when: new Date(now - 3 * 60_000).toISOString(),
      },
    });
    const logs = await stack.api('/context/logs', {
      body: Array.from({ length: 10 }, (_, i) => ({
        service: 'api-gateway',
        level: 'ERROR',
        message: `upstream timeout request ${1000 + i}`,
        timestamp: new Date(now - 60_000 + i * 1000).toISOString(),
      })),
    });
    const alert = sampleAlert();
    alert.alerts[0].startsAt = new Date(now).toISOString();
    const fired = await stack.api('/alerts', { body: alert });

    expect(deploy).toMatchObject({ status: 202, body: { stored: 1 } });
    expect(logs).toMatchObject({ status: 202, body: { stored: 10 } });
    expect(fired.status).toBe(202);
    expect(fired.body.accepted).toHaveLength(1);

    const incident = await waitFor(async () => {
      const res = await stack.api('/api/incidents?limit=1&view=full');
      return res.body.incidents?.[0];
    });
    incidentId = incident.id;
    const byRule = Object.fromEntries(incident.findings.map((f: { ruleId: string }) => [f.ruleId, f]));
    expect(incident).toMatchObject({ status: 'open', service: 'api-gateway', alertname: 'HighErrorRate' });
    expect(byRule['deploy.recent_correlated']).toMatchObject({ severity: 'high' });
    expect(JSON.stringify(byRule['deploy.recent_correlated'].evidence)).toContain('a1b2c3d');
    expect(byRule['logs.error_spike']).toMatchObject({ severity: 'medium' });
    expect(byRule['logs.error_spike'].summary).toContain('upstream timeout request <*>');
    expect(incident.narration).toContain('a1b2c3d');
  });

  it('serves the incident by id and 404s an unknown one', async () => {
    const found = await stack.api(`/api/incidents/${incidentId}`);
    const missing = await stack.api('/api/incidents/inc-doesnotexist');
    expect(found.status).toBe(200);
    expect(found.body.id).toBe(incidentId);
    expect(missing.status).toBe(404);
  });

  it('counts the work in /api/stats', async () => {
    const stats = await waitFor(async () => {
      const res = await stack.api('/api/stats');
      // The counters are a sink of their own, delivered alongside stdout: wait for them.
      return res.body.incidentsOpened === 1 ? res.body : null;
    });
    expect(stats).toMatchObject({ alertsReceived: 1, incidentsOpened: 1 });
  });

  it('resolves by hand and never reopens: the same alert again is a duplicate', async () => {
    const resolved = await stack.api(`/api/incidents/${incidentId}/resolve`, { method: 'POST' });
    const again = await stack.api(`/api/incidents/${incidentId}/resolve`, { method: 'POST' });
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'manual' });
    expect(again.body.resolvedAt).toBe(resolved.body.resolvedAt);
  });
});

describe('local stack: restart', () => {
  it('keeps incidents when restarted with the same data dir', async () => {
    const first = await startTestStack();
    const alert = sampleAlert();
    alert.alerts[0].startsAt = new Date().toISOString();
    await first.api('/alerts', { body: alert });
    const before = await waitFor(async () => (await first.api('/api/incidents')).body.incidents?.[0]);
    await first.stop();

    const second = await startTestStack({ dataDir: first.dataDir });
    try {
      const after = await second.api(`/api/incidents/${before.id}`);
      const repeat = await second.api('/alerts', { body: alert });
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ id: before.id, status: 'open' });
      expect(repeat.body).toMatchObject({ accepted: [], duplicates: 1 });
    } finally {
      await second.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });

  it('answers the requests in flight when it stops, and keeps what they stored', async () => {
    // Storing 1,000 alerts can outlast the default 5 s on a busy machine: this checks the drain, not its bound.
    const first = await startTestStack({ requestDrainMs: 60_000 });
    const group = sampleAlert();
    const [template] = group.alerts;
    const startsAt = new Date().toISOString();
    group.alerts = Array.from({ length: 1000 }, (_, i) => ({
      ...template,
      labels: { ...template.labels, instance: `api-gateway-${i}:8080` },
      startsAt,
      fingerprint: i.toString(16).padStart(16, '0'),
    }));
    // A big delivery takes a while to store; the stop (Ctrl-C) comes in the middle of it, once its
    // first alert records are stored (so the request has reached the handler, however slow the machine).
    const inFlight = first.api('/alerts', { body: group }).catch((error: Error) => error);
    await waitFor(async () => {
      const scan = new ScanCommand({
        TableName: first.emulators.tableName,
        FilterExpression: 'begins_with(sk, :a)',
        ExpressionAttributeValues: { ':a': { S: 'A#' } },
        Select: 'COUNT',
      });
      return ((await first.emulators.dynamoClient.send(scan)).Count ?? 0) > 0;
    });
    await first.stop();
    const answer = await inFlight;

    const second = await startTestStack({ dataDir: first.dataDir });
    try {
      expect(answer).toMatchObject({ status: 202 });
      const again = await second.api('/alerts', { body: group });
      expect(again.body).toMatchObject({ accepted: [], duplicates: 1000 });
    } finally {
      await second.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});
