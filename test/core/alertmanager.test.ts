import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOf, parseAlertPayload, ValidationError } from '@incident-pilot/core';
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
