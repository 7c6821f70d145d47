import { FULL_VIEW_FIELDS, type Incident } from '@incident-pilot/core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../functions/lib/http.js';
import { ROUTES } from '../../functions/routes.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

const TOKEN = 'tok-openapi-51c2';

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is arbitrary JSON, asserted below
type Doc = any;

describe('OpenAPI document and unknown routes', () => {
  let stack: TestStack;
  let doc: Doc;

  beforeAll(async () => {
    stack = await startTestStack({ env: { INCIDENT_PILOT_TOKEN: TOKEN } });
    const res = await stack.api('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await stack?.destroy();
  });

  it('is served at GET /openapi.json without a token, and is valid OpenAPI 3.1 (independent validator)', async () => {
    const result = await new Validator().validate(doc);

    expect(doc.openapi).toBe('3.1.0');
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route of the route table, with its responses and the error shape', () => {
    for (const route of ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        route.path,
      ).toBe(true);
      expect(op.responses['503'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    const described = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(doc.components.schemas.Error.properties.error.enum.sort()).toEqual(Object.values(ERROR_CODES).sort());
  });

  it('takes request bodies and query parameters from the handlers’ zod schemas', () => {
    const { schemas } = doc.components;
    const list = doc.paths['/api/incidents'].get.parameters.map((p: { name: string }) => p.name);

    expect(schemas.Webhook.required).toEqual(expect.arrayContaining(['groupKey', 'status', 'alerts']));
    expect(schemas.Webhook.properties.alerts.items.properties.fingerprint.pattern).toBe('^[0-9a-f]{1,16}$');
    expect(schemas.Deploy.required).toEqual(expect.arrayContaining(['service', 'commit', 'when']));
    expect(schemas.Trace.properties.durationMs.maximum).toBe(604_800_000);
    expect(list).toEqual(['limit', 'cursor', 'status', 'service', 'view']);
    expect(schemas.IncidentSummary.properties.alerts).toBeUndefined();
    expect(schemas.Incident.required).toEqual(expect.arrayContaining(['alerts', 'narration', 'findings']));
  });

  it('names every field an incident can carry, since its schemas allow no others', () => {
    const { Incident, IncidentSummary } = doc.components.schemas;
    // Every field of the type, optional ones included (the compiler keeps this list complete).
    const fields: Record<keyof Incident, true> = {
      id: true,
      status: true,
      severity: true,
      service: true,
      alertname: true,
      title: true,
      team: true,
      groupKey: true,
      openedAt: true,
      resolvedAt: true,
      resolution: true,
      lastSeenAt: true,
      alertCount: true,
      firingCount: true,
      resolvedAlertCount: true,
      truncatedAlerts: true,
      alerts: true,
      overflowCount: true,
      overflowResolvedCount: true,
      findings: true,
      narration: true,
      previousIncidentId: true,
      commonLabels: true,
      refreshedAt: true,
      pendingChanges: true,
      lastUpdate: true,
      announced: true,
      timeline: true,
      slack: true,
      acknowledgedBy: true,
      acknowledgedAt: true,
      mute: true,
      resolvedBy: true,
      resolutionNote: true,
      version: true,
    };
    const all = Object.keys(fields);
    const compact = all.filter((f) => !(FULL_VIEW_FIELDS as readonly string[]).includes(f));

    expect(Incident.additionalProperties).toBe(false);
    expect(Object.keys(Incident.properties).sort()).toEqual(all.sort());
    expect(Object.keys(IncidentSummary.properties).sort()).toEqual(compact.sort());
  });

  it('describes the error body a 400 really sends, `moreIssues` included', async () => {
    const alerts = Array.from({ length: 25 }, () => ({ labels: {} }));

    const res = await stack.api('/alerts', { body: alerts, token: TOKEN });

    expect(res.status).toBe(400);
    expect(res.body.moreIssues).toBeGreaterThan(0);
    expect(Object.keys(doc.components.schemas.Error.properties)).toEqual(expect.arrayContaining(Object.keys(res.body)));
    expect(doc.components.schemas.Error.properties.moreIssues).toMatchObject({ type: 'integer' });
  });

  it('declares bearer and basic auth, and marks the open routes', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
      basicAuth: { type: 'http', scheme: 'basic' },
    });
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/openapi.json'].get.security).toEqual([]);
    expect(doc.paths['/alerts'].post.security).toBeUndefined();
    expect(doc.paths['/alerts'].post.responses['401']).toBeDefined();
  });

  it('answers an unknown route 404 and a known path with another method 405, in the error shape', async () => {
    const unknown = await stack.api('/nope');
    const wrongMethod = await stack.api('/api/stats', { method: 'DELETE' });
    const wrongPost = await fetch(`${stack.url}/alerts`);

    expect(unknown).toEqual({ status: 404, body: { error: 'not_found', message: 'no route GET /nope' } });
    expect(wrongMethod).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
    expect(wrongPost.status).toBe(405);
    expect(wrongPost.headers.get('allow')).toBe('POST');
    expect(await wrongPost.json()).toMatchObject({
      error: 'method_not_allowed',
      message: expect.stringContaining('POST'),
    });
  });
});
