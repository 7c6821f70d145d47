import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDynamoStore, mapAwsError } from '@incident-pilot/aws';
import {
  ConflictError,
  type Incident,
  TransientError,
  UnprocessableError,
  ValidationError,
} from '@incident-pilot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuthorized } from '../../functions/lib/auth.js';
import type { Root } from '../../functions/lib/composition.js';
import { errorResponse } from '../../functions/lib/http.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

const TOKEN = 's3cret-token-for-tests';
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

describe('HTTP handlers (through the local API Gateway stand-in)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { INCIDENT_PILOT_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  describe('authentication', () => {
    it('answers 401 with a JSON error without credentials or with a wrong token', async () => {
      const none = await stack.api('/alerts', { body: fixture('firing-single-alert.json') });
      const wrong = await stack.api('/alerts', { body: fixture('firing-single-alert.json'), token: 'nope' });
      expect(none).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      expect(wrong.status).toBe(401);
    });

    it('accepts the bearer token and basic auth with the token as password', async () => {
      const bearer = await stack.api('/api/stats', { token: TOKEN });
      const basic = await fetch(`${stack.url}/api/stats`, {
        headers: { authorization: `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}` },
      });
      expect(bearer.status).toBe(200);
      expect(basic.status).toBe(200);
    });

    it('protects context and query endpoints too, but not the health check', async () => {
      const context = await stack.api('/context/deploys', { body: {} });
      const list = await stack.api('/api/incidents');
      const health = await stack.api('/healthz');
      expect(context.status).toBe(401);
      expect(list.status).toBe(401);
      expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    });
  });

  describe('POST /alerts', () => {
    it('answers 400 naming each bad field', async () => {
      const body = structuredClone(fixture('firing-group-3-alerts.json'));
      body.alerts[2].startsAt = 'yesterday';
      delete body.alerts[0].labels.alertname;
      const res = await stack.api('/alerts', { body, token: TOKEN });
      const paths = res.body.issues.map((i: { path: string }) => i.path);
      expect(res.status).toBe(400);
      expect(paths).toEqual(expect.arrayContaining(['alerts[2].startsAt', 'alerts[0].labels']));
    });

    it('answers 400 for a body that is not JSON', async () => {
      const res = await stack.api('/alerts', { raw: '{"alerts": [', token: TOKEN });
      expect(res).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      expect(res.body.message).toContain('not valid JSON');
    });

    it('reads a body that starts with a UTF-8 byte order mark, as Windows tools save JSON files', async () => {
      const bare = { labels: { alertname: 'BomSaved', service: 'db' }, startsAt: '2026-11-25T04:00:00Z' };
      const res = await stack.api('/alerts', { raw: `\uFEFF${JSON.stringify(bare)}`, token: TOKEN });
      expect(res, JSON.stringify(res.body)).toMatchObject({ status: 202, body: { status: 'accepted' } });
    });

    it('answers 413 for a body over 1 MB', async () => {
      const body = fixture('firing-single-alert.json');
      body.alerts[0].annotations.description = 'x'.repeat(1024 * 1024);
      const res = await stack.api('/alerts', { body, token: TOKEN });
      expect(res).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    });

    it('accepts a bare alert and counts a re-delivery as a duplicate', async () => {
      const bare = { labels: { alertname: 'DiskFull', service: 'db' }, startsAt: '2026-11-25T04:00:00Z' };
      const first = await stack.api('/alerts', { body: bare, token: TOKEN });
      const second = await stack.api('/alerts', { body: bare, token: TOKEN });
      expect(first.body.accepted).toHaveLength(1);
      expect(second).toMatchObject({ status: 202, body: { accepted: [], duplicates: 1 } });
    });
  });

  describe('POST /context/{kind}', () => {
    it('names the index and field of each bad item in a batch', async () => {
      const res = await stack.api('/context/logs', {
        token: TOKEN,
        body: [
          { service: 'api', level: 'ERROR', message: 'ok' },
          { service: 'api', level: 'LOUD', message: 'bad level' },
          { level: 'ERROR', message: 'no service' },
        ],
      });
      const paths = res.body.issues.map((i: { path: string }) => i.path);
      expect(res.status).toBe(400);
      expect(paths).toEqual(['[1].level', '[2].service']);
    });

    it('refuses batches over the cap, naming the cap', async () => {
      const batch = Array.from({ length: 501 }, (_, i) => ({ traceId: `t${i}`, service: 'api', durationMs: 5 }));
      const res = await stack.api('/context/traces', { body: batch, token: TOKEN });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('at most 500');
    });

    it('answers 404 for an unknown context kind', async () => {
      const res = await stack.api('/context/metrics', { body: {}, token: TOKEN });
      expect(res).toMatchObject({ status: 404, body: { error: 'not_found' } });
    });
  });

  describe('GET /api/incidents', () => {
    it('rejects a bad limit and a bad cursor with 400 naming the parameter', async () => {
      const limit = await stack.api('/api/incidents?limit=0', { token: TOKEN });
      const cursor = await stack.api('/api/incidents?cursor=not-a-cursor', { token: TOKEN });
      expect(limit.status).toBe(400);
      expect(limit.body.issues[0].path).toBe('limit');
      expect(cursor.status).toBe(400);
      expect(JSON.stringify(cursor.body)).toContain('cursor');
    });

    it('answers 400 naming a parameter it does not know, rather than listing every incident unfiltered', async () => {
      const res = await stack.api('/api/incidents?stauts=open', { token: TOKEN });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([{ path: 'stauts', message: 'unknown key' }]);
    });
  });
});

/**
 * An incident as large as the input limits let one grow (about 140 KB as JSON): a 3-byte character in
 * every field, at the length the worker clips each to.
 */
function largestIncident(i: number): Incident {
  const wide = (n: number) => '€'.repeat(n);
  const openedAt = new Date(Date.now() - i * 60_000).toISOString();
  const labels = Object.fromEntries(Array.from({ length: 8 }, (_, n) => [`label${n}`, wide(128)]));
  return {
    id: `inc-${i.toString(16).padStart(12, '0')}`,
    status: 'open',
    severity: 'critical',
    service: wide(256),
    alertname: wide(1024),
    title: wide(300),
    team: wide(1024),
    groupKey: `${i}${wide(8000)}`,
    openedAt,
    resolvedAt: null,
    resolution: null,
    lastSeenAt: openedAt,
    alertCount: 50,
    firingCount: 50,
    resolvedAlertCount: 0,
    truncatedAlerts: 0,
    alerts: Array.from({ length: 50 }, (_, n) => ({
      fingerprint: n.toString(16).padStart(16, '0'),
      startsAt: openedAt,
      endsAt: null,
      status: 'firing' as const,
      labels: n < 20 ? labels : {},
      summary: n < 20 ? wide(200) : '',
      lastSeenAt: openedAt,
    })),
    commonLabels: Object.fromEntries(Array.from({ length: 12 }, (_, n) => [`common${n}`, wide(256)])),
    findings: [],
    narration: wide(4700),
    previousIncidentId: null,
    timeline: [{ at: openedAt, type: 'opened', summary: wide(300) }],
    version: 1,
  };
}

describe('GET /api/incidents with large incidents', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
    const { tableName, incidentsTableName, dynamoClient } = stack.emulators;
    const store = createDynamoStore({ tableName, incidentsTableName, client: dynamoClient });
    for (let i = 0; i < 100; i++) await store.createIncident(largestIncident(i));
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  it('keeps a page of whole incidents inside the 6 MB a Lambda function may answer, and the cursor finds the rest', async () => {
    // Lambda's limit applies to the function's response, which carries the body JSON-escaped.
    const LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const url = `${stack.url}/api/incidents?limit=100&view=full${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await fetch(url);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(JSON.stringify({ statusCode: 200, body: text }))).toBeLessThan(LAMBDA_RESPONSE_BYTES);
      const page = JSON.parse(text) as { incidents: Incident[]; cursor?: string };
      expect(page.incidents.length).toBeGreaterThan(0);
      seen.push(...page.incidents.map((incident) => incident.id));
      cursor = page.cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => largestIncident(i).id));
  });
});

describe('HTTP handlers when DynamoDB is down', () => {
  it('answer 503 without internals, so Alertmanager retries', async () => {
    const stack = await startTestStack();
    try {
      await stack.emulators.stop();
      const res = await stack.api('/alerts', { body: fixture('firing-single-alert.json') });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ error: 'unavailable', message: 'temporarily unavailable, retry later' });
    } finally {
      await stack.stop().catch(() => undefined);
    }
  });
});

describe('credentials check', () => {
  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

  it('accepts the token as bearer or as the basic-auth password, any scheme case', () => {
    expect(isAuthorized(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(isAuthorized(`bearer  ${TOKEN} `, TOKEN)).toBe(true);
    expect(isAuthorized(basic(`alertmanager:${TOKEN}`), TOKEN)).toBe(true);
    expect(isAuthorized(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(isAuthorized(basic(TOKEN), TOKEN)).toBe(false);
  });

  it('refuses everything when the expected token is empty (a blank secret), never an empty credential', () => {
    for (const header of ['Bearer', 'Bearer ', 'Basic', basic(':'), basic('alertmanager:')]) {
      expect(isAuthorized(header, ''), header).toBe(false);
    }
  });
});

describe('error policy (one mapping for every handler)', () => {
  const body = (res: { body?: string }) => JSON.parse(res.body ?? '{}');
  // Only the logger of the composition root is used here; the log is where the details go.
  const logged: unknown[] = [];
  const root = { log: { error: (_: string, data: unknown) => logged.push(data) } } as unknown as Root;
  const dynamoRefusal = () =>
    Object.assign(new Error('Item size has exceeded the maximum allowed size (table arn:aws:dynamodb:secret)'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });

  it('lists at most 20 issues of a 400, counts the rest, and clips each', () => {
    const issues = Array.from({ length: 10_000 }, (_, i) => ({
      path: `alerts[${i}].${'k'.repeat(5000)}`,
      message: 'bad',
    }));
    const res = errorResponse(new ValidationError(issues, 'webhook'));
    expect(res.statusCode).toBe(400);
    expect(body(res).issues).toHaveLength(20);
    expect(body(res).moreIssues).toBe(9980);
    expect(res.body?.length).toBeLessThan(10_000);
  });

  it('answers a store refusal of valid input 422 (final), naming nothing internal', () => {
    const mapped = mapAwsError(dynamoRefusal(), 'DynamoDB PutItem');
    const res = errorResponse(mapped, root);
    expect(mapped).toBeInstanceOf(UnprocessableError);
    expect(res.statusCode).toBe(422);
    expect(body(res).error).toBe('unprocessable');
    expect(res.body).not.toMatch(/arn|secret|Item size|DynamoDB/);
  });

  it('answers transient faults and lost write races 503 with Retry-After', () => {
    for (const error of [new TransientError('throttled', 7), new ConflictError('version moved')]) {
      const res = errorResponse(error, root);
      expect(res.statusCode).toBe(503);
      expect(res.headers?.['retry-after']).toBe(error instanceof TransientError ? '7' : '1');
    }
  });

  it('answers an unclassified error (a bug) 500 with a generic body and the request id', () => {
    const res = errorResponse(new TypeError("Cannot read properties of undefined (reading 'secret')"), root, 'req-1');
    expect(res.statusCode).toBe(500);
    expect(body(res)).toEqual({ error: 'internal_error', message: 'internal error (request req-1)' });
    expect(res.headers?.['retry-after']).toBeUndefined();
    expect(logged.at(-1)).toEqual({ requestId: 'req-1', error: expect.stringContaining('TypeError') });
  });
});
