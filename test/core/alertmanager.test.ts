import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  contextWindowOf,
  defaultEngineConfig,
  fingerprintOf,
  ingestContext,
  type JobQueue,
  MAX_ALERT_BYTES,
  MAX_LISTED_ISSUES,
  parseAlertPayload,
  type Store,
  ValidationError,
} from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../fixtures/alertmanager');
const payloads = readdirSync(dir).filter((f) => /^(firing|resolved)-.*\.json$/.test(f));
const load = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

describe('Alertmanager webhook parsing', () => {
  it.each(payloads)('parses %s', (file) => {
    const body = load(file);
    const [group] = parseAlertPayload(body, '2026-11-25T05:00:00Z');
    expect(group?.groupKey).toBe(body.groupKey);
    expect(group?.alerts).toHaveLength(body.alerts.length);
    expect(group?.truncatedAlerts).toBe(body.truncatedAlerts);
  });

  it.each(payloads)('computes the same fingerprint as Alertmanager for %s', (file) => {
    for (const alert of load(file).alerts) expect(fingerprintOf(alert.labels)).toBe(alert.fingerprint);
  });

  it('turns Go zero time into a null endsAt for firing alerts', () => {
    const [group] = parseAlertPayload(load('firing-single-alert.json'), '2026-11-25T05:00:00Z');
    expect(group?.alerts[0]?.endsAt).toBeNull();
  });

  it('names the path of each bad field', () => {
    const body = structuredClone(load('firing-group-3-alerts.json'));
    body.alerts[2].startsAt = 'yesterday';
    delete body.groupKey;
    const error = (() => {
      try {
        parseAlertPayload(body, '2026-11-25T05:00:00Z');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    const paths = (error as ValidationError).issues.map((i) => i.path);
    expect(paths).toContain('alerts[2].startsAt');
    expect(paths).toContain('groupKey');
  });
});

/** The ValidationError `run` throws (the test fails if it throws nothing or something else). */
function validationError(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const RECEIVED = '2026-11-25T05:00:00Z';
const oneAlertHook = () => load('firing-single-alert.json');
const bare = (alertname: string, extra: Record<string, unknown> = {}) => ({
  labels: { alertname, service: 'db' },
  ...extra,
});

describe('input limits', () => {
  it('refuses an alert whose labels, annotations and URL exceed the per-alert budget, naming the largest part', () => {
    const hook = oneAlertHook();
    hook.alerts[0].annotations = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`a${i}`, 'x'.repeat(16_000)]),
    );
    const error = validationError(() => parseAlertPayload(hook, RECEIVED));
    expect(error.issues).toEqual([
      { path: 'alerts[0].annotations', message: expect.stringContaining(`the limit is ${MAX_ALERT_BYTES}`) },
    ]);
  });

  it('accepts an alert exactly at the budget, counting UTF-8 bytes (an emoji is 4)', () => {
    const hook = oneAlertHook();
    const alert = hook.alerts[0];
    alert.annotations = {};
    alert.generatorURL = '';
    const used = Object.entries(alert.labels as Record<string, string>).reduce(
      (n, [k, v]) => n + k.length + v.length,
      0,
    );
    const left = MAX_ALERT_BYTES - used - 'notes'.length;
    // 16 KiB characters per annotation value at most: spread the rest over several.
    const emoji = '🔥'.repeat(Math.floor(left / 4 / 4));
    for (let i = 0; i < 4; i++) alert.annotations[`n${i}`] = emoji;
    const rest = MAX_ALERT_BYTES - used - 4 * (2 + emoji.length * 2);
    alert.annotations.notes = 'y'.repeat(rest - 'notes'.length);
    expect(() => parseAlertPayload(hook, RECEIVED)).not.toThrow();
    alert.annotations.notes += 'y';
    expect(validationError(() => parseAlertPayload(hook, RECEIVED)).issues[0]?.path).toBe('alerts[0].annotations');
  });

  it('refuses a generatorURL over 8 KiB and a groupKey over 8 KiB, naming each', () => {
    const hook = oneAlertHook();
    hook.alerts[0].generatorURL = `http://prometheus/graph?g0.expr=${'x'.repeat(500_000)}`;
    hook.groupKey = `{}:{alertname="${'k'.repeat(9000)}"}`;
    const paths = validationError(() => parseAlertPayload(hook, RECEIVED)).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['alerts[0].generatorURL', 'groupKey']));
  });

  it('holds a label that names the service to 256 characters: it becomes part of a key', () => {
    const hook = oneAlertHook();
    hook.alerts[0].labels.job = 'j'.repeat(257);
    hook.commonLabels.service = '€'.repeat(257);
    const paths = validationError(() => parseAlertPayload(hook, RECEIVED)).issues.map((i) => i.path);
    const bareOk = parseAlertPayload(bare('A', { labels: { alertname: 'A', service: '€'.repeat(256) } }), RECEIVED);
    expect(paths).toEqual(expect.arrayContaining(['alerts[0].labels.job', 'commonLabels.service']));
    expect(bareOk[0]?.alerts[0]?.service).toHaveLength(256);
  });

  it('says what is wrong with a label or annotation name: too long or empty, not just "invalid key"', () => {
    const long = 'n'.repeat(257);
    const hook = oneAlertHook();
    hook.alerts[0].labels[long] = 'x';
    hook.alerts[0].annotations[''] = 'x';
    const array = [bare('A', { labels: { alertname: 'A', [long]: 'x' } })];

    const messages = (body: unknown) =>
      validationError(() => parseAlertPayload(body, RECEIVED)).issues.map((i) => `${i.path}: ${i.message}`);

    expect(messages(hook)).toEqual([
      `alerts[0].labels.${long}: a name is longer than 256 characters`,
      'alerts[0].annotations.: a name must not be empty',
    ]);
    expect(messages(array)).toEqual([`[0].labels.${long}: a name is longer than 256 characters`]);
  });

  it('refuses more than 1,000 alerts per request, without parsing them', () => {
    const hook = oneAlertHook();
    hook.alerts = Array.from({ length: 1001 }, () => ({}));
    const webhook = validationError(() => parseAlertPayload(hook, RECEIVED));
    const array = validationError(() =>
      parseAlertPayload(
        Array.from({ length: 5000 }, () => bare('A')),
        RECEIVED,
      ),
    );
    expect(webhook.issues).toEqual([{ path: 'alerts', message: 'at most 1000 alerts per request, got 1001' }]);
    expect(array.issues).toEqual([{ path: '', message: 'at most 1000 alerts per request, got 5000' }]);
  });

  it('takes the first service label that is not blank, trimmed as context ingest trims its service', () => {
    const [group] = parseAlertPayload(
      bare('A', { labels: { alertname: 'A', service: ' \t', app: '', job: ' checkout ' } }),
      RECEIVED,
    );
    expect(group?.alerts[0]?.service).toBe('checkout');
  });

  it('groups bare alerts by service + alertname and refuses more than 20 groups per request', () => {
    const fifty = Array.from({ length: 1000 }, (_, i) => ({
      labels: { alertname: `A${i % 20}`, service: 'db', instance: `i-${i}` },
    }));
    const groups = parseAlertPayload(fifty, RECEIVED);
    const tooMany = Array.from({ length: 21 }, (_, i) => bare(`A${i}`));
    expect(groups).toHaveLength(20);
    expect(groups.every((g) => g.alerts.length === 50)).toBe(true);
    expect(validationError(() => parseAlertPayload(tooMany, RECEIVED)).message).toContain(
      'at most 20 groups (distinct service + alertname) per request, got 21',
    );
  });

  it.each([
    ['9999-12-31T23:59:00Z', 'more than 24 h in the future'],
    ['2026-11-26T05:00:01Z', 'more than 24 h in the future'],
    ['1999-12-31T23:59:59Z', 'before 2000-01-01T00:00:00Z'],
    // Date.parse would take these for 2 March and 1 May: stored as another day than sent.
    ['2026-02-30T04:00:00Z', 'no such day'],
    ['2025-02-29T04:00:00Z', 'no such day'],
    ['2026-04-31T04:00:00.5+02:00', 'no such day'],
  ])('refuses startsAt %s in every shape (%s)', (startsAt, message) => {
    const hook = oneAlertHook();
    hook.alerts[0].startsAt = startsAt;
    const shapes: [unknown, string][] = [
      [hook, 'alerts[0].startsAt'],
      [bare('A', { startsAt }), 'startsAt'],
      [[bare('A'), bare('A', { startsAt })], '[1].startsAt'],
    ];
    for (const [body, path] of shapes) {
      expect(validationError(() => parseAlertPayload(body, RECEIVED)).issues).toEqual([
        { path, message: expect.stringContaining(message) },
      ]);
    }
  });

  it('keeps Go\'s zero endsAt ("not ended") and a day of clock skew, refuses a far-future endsAt', () => {
    const ok = oneAlertHook();
    ok.alerts[0].endsAt = '0001-01-01T00:00:00Z';
    ok.alerts[0].startsAt = '2026-11-26T05:00:00Z';
    const late = oneAlertHook();
    late.alerts[0].endsAt = '+010000-01-01T00:00:00Z';
    const far = oneAlertHook();
    far.alerts[0].endsAt = '9999-12-31T23:59:00Z';
    expect(parseAlertPayload(ok, RECEIVED)[0]?.alerts[0]?.endsAt).toBeNull();
    expect(validationError(() => parseAlertPayload(late, RECEIVED)).issues[0]?.path).toBe('alerts[0].endsAt');
    expect(validationError(() => parseAlertPayload(far, RECEIVED)).issues[0]?.path).toBe('alerts[0].endsAt');
  });

  it('refuses far-future context times, naming the item and field', async () => {
    // Validation fails before the store or the queue is touched.
    const deps = { store: {} as Store, queue: {} as JobQueue };
    const deploy = { service: 'api', commit: 'abc1234', when: '9999-12-31T23:59:00Z' };
    const logs = [
      { service: 'api', level: 'ERROR', message: 'ok' },
      { service: 'api', level: 'ERROR', message: 'late', timestamp: '3000-01-01T00:00:00Z' },
    ];
    await expect(ingestContext(deps, 'deploys', deploy, RECEIVED, 0)).rejects.toMatchObject({
      issues: [{ path: 'when', message: expect.stringContaining('in the future') }],
    });
    await expect(ingestContext(deps, 'logs', logs, RECEIVED, 0)).rejects.toMatchObject({
      issues: [{ path: '[1].timestamp', message: expect.stringContaining('in the future') }],
    });
  });

  it('lists at most 20 issues, each clipped, and counts the rest', () => {
    const hook = oneAlertHook();
    hook.alerts = Array.from({ length: 1000 }, () => ({}));
    hook.groupLabels = { ['k'.repeat(100_000)]: 1 };
    const error = validationError(() => parseAlertPayload(hook, RECEIVED));
    expect(error.issues).toHaveLength(MAX_LISTED_ISSUES);
    expect(error.moreIssues).toBeGreaterThan(1000);
    expect(error.message.length).toBeLessThan(MAX_LISTED_ISSUES * 700);
    expect(error.message).toContain(`and ${error.moreIssues} more`);
  });
});

describe('context window', () => {
  it('stays within years 1970-9999 for any start, so the store can always query it', () => {
    for (const start of ['9999-12-31T23:59:00Z', '1970-01-01T00:01:00Z']) {
      for (const { fromMs, toMs } of Object.values(contextWindowOf(defaultEngineConfig, Date.parse(start)))) {
        expect(new Date(fromMs).toISOString() <= new Date(toMs).toISOString()).toBe(true);
        expect(new Date(toMs).toISOString()).toMatch(/^\d{4}-/);
        expect(new Date(fromMs).toISOString()).toMatch(/^\d{4}-/);
      }
    }
  });
});
