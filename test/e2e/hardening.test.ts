/**
 * Issue 8, the edge half, over HTTP against the local stack: odd characters (emoji, other non-BMP
 * characters, control characters, lone surrogates) end on incidents announced once and survive a
 * restart; the largest input the API accepts fits a DynamoDB item; the worst request it accepts
 * finishes; everything a caller can fix is a small, bounded 4xx.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  MAX_ALERT_BYTES,
  MAX_ALERTS_PER_REQUEST,
  MAX_GROUPS_PER_REQUEST,
  MAX_LABEL_VALUE,
  MAX_SERVICE_LENGTH,
  MAX_URL_LENGTH,
} from '@incident-pilot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaptureServer, slackMessages, startCaptureServer } from '../helpers/capture-server.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';

const TOKEN = 'hardening-token-8';
const DYNAMO_ITEM_LIMIT = 400 * 1024;
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

interface IncidentLike {
  id: string;
  alertname: string;
  alertCount: number;
  findings: { ruleId: string }[];
}

/** An item's size as DynamoDB counts it: attribute names plus values (strings as UTF-8). */
function itemBytes(value: AttributeValue | Record<string, AttributeValue>): number {
  const v = value as Record<string, unknown>;
  if ('S' in v) return Buffer.byteLength(v.S as string);
  if ('N' in v) return Math.ceil((v.N as string).length / 2) + 1;
  if ('B' in v) return (v.B as Uint8Array).length;
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('L' in v) return 3 + (v.L as AttributeValue[]).reduce((n, x) => n + 1 + itemBytes(x), 0);
  const map = ('M' in v ? v.M : v) as Record<string, AttributeValue>;
  return ('M' in v ? 3 : 0) + Object.entries(map).reduce((n, [k, x]) => n + Buffer.byteLength(k) + 1 + itemBytes(x), 0);
}

describe('hardening (local stack over HTTP)', () => {
  let slack: CaptureServer;
  let stack: TestStack;
  const dataDir = mkdtempSync(join(tmpdir(), 'incident-pilot-hardening-'));
  const start = () =>
    startTestStack({
      dataDir,
      env: { INCIDENT_PILOT_TOKEN: TOKEN, INCIDENT_PILOT_SLACK_WEBHOOK: `${slack.url}/services/T0/B0/hardening` },
    });
  const post = (path: string, raw: string) => stack.api(path, { raw, token: TOKEN });
  const get = (path: string) => stack.api(path, { token: TOKEN });

  async function incidents(): Promise<IncidentLike[]> {
    const out: IncidentLike[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(`/api/incidents?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      out.push(...page.body.incidents);
      cursor = page.body.cursor;
    } while (cursor);
    return out;
  }

  /** "Opened" Slack messages per incident id. */
  function announcements(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of slackMessages(slack)) {
      if (m.type === 'opened' && m.incidentId) counts.set(m.incidentId, (counts.get(m.incidentId) ?? 0) + 1);
    }
    return counts;
  }

  const incidentOf = (alertname: string, timeoutMs = 15_000) =>
    waitFor(async () => (await incidents()).find((i) => i.alertname === alertname), timeoutMs);

  beforeAll(async () => {
    slack = await startCaptureServer();
    stack = await start();
  });
  afterAll(async () => {
    await stack?.stop();
    await slack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('odd characters', () => {
    // Raw JSON, so the lone surrogates and control characters are exactly what a client sends.
    const now = () => new Date().toISOString();
    const cases: [string, () => string, string][] = [
      [
        'an emoji in alertname (the bare alert of the issue)',
        () => '{"labels":{"alertname":"Disk full 🔥","service":"db"}}',
        'Disk full 🔥',
      ],
      [
        'control and non-BMP characters in labels and annotations, a lone surrogate in an annotation',
        () =>
          '{"labels":{"alertname":"Ctl\\u0000\\u0007\\u001b[31m","service":"svc-𝔘𝔫𝔦","zwj":"👩‍👩‍👧\\u202e"},' +
          '"annotations":{"summary":"🧯 out of extinguishers","description":"half \\ud800 pair \\udfff"}}',
        'Ctl\u0000\u0007\u001b[31m',
      ],
      [
        'an emoji and a lone surrogate in a webhook groupKey',
        () => {
          const hook = fixture('firing-single-alert.json');
          hook.alerts[0].labels.alertname = 'WebhookEmoji 🚒';
          hook.alerts[0].startsAt = now();
          hook.alerts[0].fingerprint = 'e0e0e0e0e0e0e0e0';
          return JSON.stringify(hook).replace(
            JSON.stringify(hook.groupKey),
            '"{}:{alertname=\\"WebhookEmoji 🚒 \\ud83d\\"}"',
          );
        },
        'WebhookEmoji 🚒',
      ],
      [
        'labels and annotations named like Object.prototype members (constructor, toString, valueOf)',
        () =>
          '{"labels":{"alertname":"ProtoKeys","service":"db","constructor":"c","toString":"t","valueOf":"v"},' +
          '"annotations":{"constructor":"c","hasOwnProperty":"h"}}',
        'ProtoKeys',
      ],
      [
        'a lone surrogate in alertname (kept as U+FFFD)',
        () => '{"labels":{"alertname":"Lone \\udc00 surrogate","service":"db"}}',
        'Lone \ufffd surrogate',
      ],
    ];

    it.each(cases)('accepts %s: 202, one incident, announced once', async (_what, body, alertname) => {
      const res = await post('/alerts', body());
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body.accepted).toHaveLength(1);
      const incident = await incidentOf(alertname);
      expect(incident.alertCount).toBe(1);
      await waitFor(async () => announcements().get(incident.id));
      expect(announcements().get(incident.id)).toBe(1);
    });

    it('stores and finds context under a service name with an emoji', async () => {
      const service = 'pay🔥ments';
      const t = Date.now();
      const deploy = { service, commit: 'f1e2d3c', author: 'dana 🧑‍🚒', when: new Date(t - 120_000).toISOString() };
      const logs = Array.from({ length: 6 }, (_, i) => ({
        service,
        level: 'ERROR',
        message: `💥 upstream timeout ${i}`,
        timestamp: new Date(t - 60_000 + i * 1000).toISOString(),
      }));
      const trace = { traceId: 'trace-🔥', service, durationMs: 12, timestamp: new Date(t).toISOString() };
      expect((await post('/context/deploys', JSON.stringify(deploy))).status).toBe(202);
      expect((await post('/context/logs', JSON.stringify(logs))).status).toBe(202);
      expect((await post('/context/traces', JSON.stringify(trace))).status).toBe(202);
      const alert = { labels: { alertname: 'EmojiContext', service }, startsAt: new Date(t).toISOString() };
      expect((await post('/alerts', JSON.stringify(alert))).status).toBe(202);
      const incident = await incidentOf('EmojiContext');
      expect(incident.findings.map((f) => f.ruleId)).toEqual(
        expect.arrayContaining(['deploy.recent_correlated', 'logs.error_spike']),
      );
    });

    it('restarts on that data directory, loses nothing and announces nothing twice', async () => {
      // One more alert, stopped right after its 202: it may still be pending when the stack stops.
      const late = { labels: { alertname: 'Late 🌋', service: 'db' }, startsAt: new Date().toISOString() };
      expect((await post('/alerts', JSON.stringify(late))).status).toBe(202);
      await stack.stop();
      stack = await start();

      const incident = await incidentOf('Late 🌋');
      const all = await incidents();
      for (const [, , alertname] of cases) expect(all.map((i) => i.alertname)).toContain(alertname);
      await waitFor(async () => announcements().get(incident.id));
      // Give a stray second announcement time to show up.
      await new Promise((r) => setTimeout(r, 1500));
      for (const i of all) expect(announcements().get(i.id), i.alertname).toBe(1);
      const again = await post('/alerts', JSON.stringify(late));
      expect(again.body).toMatchObject({ accepted: [], duplicates: 1 });
    });
  });

  describe('limits', () => {
    it('stores the largest alert it accepts, with room to spare in both the alert and the incident item', async () => {
      const wide = '€'; // 3 bytes in UTF-8, one UTF-16 unit: the most bytes per counted character
      const labels: Record<string, string> = {
        alertname: `Largest${wide.repeat(MAX_LABEL_VALUE - 7)}`,
        service: wide.repeat(MAX_SERVICE_LENGTH),
        team: wide.repeat(MAX_LABEL_VALUE),
      };
      const annotations: Record<string, string> = { summary: wide.repeat(MAX_LABEL_VALUE) };
      const generatorURL = `http://prometheus/graph?g0.expr=${'u'.repeat(MAX_URL_LENGTH - 32)}`;
      const bytes = (m: Record<string, string>) =>
        Object.entries(m).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      const left = MAX_ALERT_BYTES - bytes(labels) - bytes(annotations) - generatorURL.length - 'description'.length;
      annotations.description = `${wide.repeat(Math.floor(left / 3))}${'d'.repeat(left % 3)}`;
      expect(bytes(labels) + bytes(annotations) + generatorURL.length).toBe(MAX_ALERT_BYTES);
      const hook = fixture('firing-single-alert.json');
      Object.assign(hook.alerts[0], { labels, annotations, generatorURL, startsAt: new Date().toISOString() });
      hook.alerts[0].fingerprint = 'fade0000fade0000';
      hook.groupKey = wide.repeat(MAX_URL_LENGTH);
      hook.commonLabels = labels;
      hook.groupLabels = { alertname: labels.alertname };

      const res = await post('/alerts', JSON.stringify(hook));
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(202);
      const incident = await incidentOf(labels.alertname as string);
      await waitFor(async () => announcements().get(incident.id));

      const scan = async (table: string) =>
        (await stack.emulators.dynamoClient.send(new ScanCommand({ TableName: table }))).Items ?? [];
      const data = await scan(stack.emulators.tableName);
      const alertItem = data.find((i) => i.sk?.S?.startsWith('A#fade0000fade0000'));
      const incidentItem = (await scan(stack.emulators.incidentsTableName)).find((i) => i.id?.S === incident.id);
      const sizes = { alert: itemBytes(alertItem ?? {}), incident: itemBytes(incidentItem ?? {}) };
      // The record as ingest stored it: the alert, its group key and a few fields (202: it was stored).
      console.info(`largest accepted alert: alert record ${sizes.alert} B, incident item ${sizes.incident} B`);
      expect(sizes.alert).toBeGreaterThan(MAX_ALERT_BYTES);
      expect(sizes.alert).toBeLessThan(DYNAMO_ITEM_LIMIT / 3);
      expect(sizes.incident).toBeLessThan(DYNAMO_ITEM_LIMIT / 3);
      // DynamoDB limits keys in UTF-8 bytes (2,048 partition, 1,024 sort); dynalite counts characters.
      const keyBytes = (which: 'pk' | 'sk') => Math.max(...data.map((i) => Buffer.byteLength(i[which]?.S ?? '')));
      expect(data.some((i) => i.pk?.S === `S#${labels.service}`)).toBe(true);
      expect(keyBytes('pk')).toBeLessThanOrEqual(2048);
      expect(keyBytes('sk')).toBeLessThanOrEqual(1024);
    });

    it('finishes the worst request it accepts, and every alert of it ends on an incident announced once', async () => {
      const t = new Date().toISOString();
      const perGroup = MAX_ALERTS_PER_REQUEST / MAX_GROUPS_PER_REQUEST;
      const bare = Array.from({ length: MAX_ALERTS_PER_REQUEST }, (_, i) => ({
        labels: { alertname: `Worst${Math.floor(i / perGroup)}`, service: 'worst', instance: `i-${i}` },
        startsAt: t,
      }));
      const hook = fixture('firing-single-alert.json');
      hook.groupKey = '{}:{alertname="WorstHook"}';
      hook.alerts = Array.from({ length: MAX_ALERTS_PER_REQUEST }, (_, i) => ({
        ...hook.alerts[0],
        labels: { alertname: 'WorstHook', service: 'worst', instance: `i-${i}` },
        startsAt: t,
        fingerprint: (0xabc00000 + i).toString(16),
      }));
      const requests: [string, unknown, string[]][] = [
        [
          `${MAX_ALERTS_PER_REQUEST} bare alerts in ${MAX_GROUPS_PER_REQUEST} groups`,
          bare,
          Array.from({ length: MAX_GROUPS_PER_REQUEST }, (_, g) => `Worst${g}`),
        ],
        [`a webhook of ${MAX_ALERTS_PER_REQUEST} alerts`, hook, ['WorstHook']],
      ];
      for (const [what, body, alertnames] of requests) {
        const before = Date.now();
        const res = await post('/alerts', JSON.stringify(body));
        console.info(`worst accepted request, ${what}: ${res.status} in ${Date.now() - before} ms`);
        expect(res.status).toBe(202);
        expect(res.body.accepted).toHaveLength(MAX_ALERTS_PER_REQUEST);
        const mine = await waitFor(async () => {
          const found = (await incidents()).filter((i) => alertnames.includes(i.alertname));
          const attached = found.reduce((n, i) => n + i.alertCount, 0);
          return attached === MAX_ALERTS_PER_REQUEST && found.every((i) => announcements().get(i.id)) && found;
        }, 60_000);
        expect(mine).toHaveLength(alertnames.length);
        for (const i of mine) expect(announcements().get(i.id)).toBe(1);
      }
    }, 120_000);

    it('answers what a caller can fix with a small 4xx naming the field and the limit', async () => {
      const hook = () => fixture('firing-single-alert.json');
      const bigAnnotations = hook();
      bigAnnotations.alerts[0].annotations = Object.fromEntries(
        Array.from({ length: 30 }, (_, i) => [`a${i}`, 'x'.repeat(16_000)]),
      );
      const bigUrl = hook();
      bigUrl.alerts[0].generatorURL = 'u'.repeat(500_000);
      const farFuture = hook();
      farFuture.alerts[0].startsAt = '9999-12-31T23:59:00Z';
      const empties = hook();
      empties.alerts = Array.from({ length: 10_000 }, () => ({}));
      const thousandEmpties = hook();
      thousandEmpties.alerts = Array.from({ length: 1000 }, () => ({}));
      const cases: [string, string, number, string][] = [
        ['/alerts', JSON.stringify(bigAnnotations), 400, 'alerts[0].annotations'],
        ['/alerts', JSON.stringify(bigUrl), 400, 'alerts[0].generatorURL'],
        ['/alerts', JSON.stringify(farFuture), 400, 'alerts[0].startsAt'],
        ['/alerts', JSON.stringify(empties), 400, 'alerts'],
        ['/alerts', JSON.stringify(thousandEmpties), 400, 'alerts[0].status'],
        [
          '/alerts',
          JSON.stringify(
            Array.from({ length: MAX_GROUPS_PER_REQUEST + 1 }, (_, i) => ({ labels: { alertname: `G${i}` } })),
          ),
          400,
          '',
        ],
        [
          '/context/deploys',
          JSON.stringify({ service: 'api', commit: 'abc1234', when: '9999-12-31T23:59:00Z' }),
          400,
          'when',
        ],
        [
          '/context/logs',
          JSON.stringify({ service: 'api', level: 'ERROR', message: 'm', timestamp: '+010000-01-01T00:00:00Z' }),
          400,
          'timestamp',
        ],
      ];
      for (const [path, raw, status, field] of cases) {
        const res = await post(path, raw);
        const text = JSON.stringify(res.body);
        expect(res.status, `${path} ${text.slice(0, 300)}`).toBe(status);
        expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(field);
        expect(text.length, path).toBeLessThan(20_000);
      }
      const many = await post('/alerts', JSON.stringify(thousandEmpties));
      expect(many.body.issues).toHaveLength(20);
      expect(many.body.moreIssues).toBeGreaterThan(1000);
    });

    it('answers a malformed incident id with 400, never a retryable 503', async () => {
      for (const id of ['i'.repeat(3000), 'inc-🔥', 'a b']) {
        const res = await get(`/api/incidents/${encodeURIComponent(id)}`);
        const resolve = await stack.api(`/api/incidents/${encodeURIComponent(id)}/resolve`, {
          method: 'POST',
          token: TOKEN,
        });
        for (const r of [res, resolve]) {
          expect(r.status).toBe(400);
          expect(r.body.issues[0].path).toBe('id');
          expect(JSON.stringify(r.body).length).toBeLessThan(1000);
        }
      }
      expect((await get('/api/incidents/inc-000000000000')).status).toBe(404);
    });
  });
});
