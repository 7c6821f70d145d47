import { UnauthorizedError } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '../../functions/lib/slack-signature.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = Date.parse('2026-11-30T10:00:00Z');
const TS = String(NOW / 1000);
const BODY = Buffer.from('payload=%7B%22type%22%3A%22block_actions%22%7D');

const check = (overrides: Partial<Parameters<typeof verifySlackSignature>[0]>) => () =>
  verifySlackSignature({
    secret: SECRET,
    rawBody: BODY,
    timestamp: TS,
    signature: slackSignature(SECRET, TS, BODY),
    nowMs: NOW,
    ...overrides,
  });

describe('Slack request signature (v0)', () => {
  it("matches Slack's documented example", () => {
    // From Slack's "Verifying requests from Slack" guide.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

    expect(slackSignature(SECRET, '1531420618', body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('accepts a valid signature, also at the edges of the five-minute window', () => {
    expect(check({})).not.toThrow();
    for (const skew of [-300, 300]) {
      const ts = String(NOW / 1000 + skew);
      expect(check({ timestamp: ts, signature: slackSignature(SECRET, ts, BODY) })).not.toThrow();
    }
  });

  it('refuses a stale or future timestamp, even correctly signed (a replay)', () => {
    for (const skew of [-301, 301, -86_400]) {
      const ts = String(NOW / 1000 + skew);
      expect(check({ timestamp: ts, signature: slackSignature(SECRET, ts, BODY) })).toThrow(/5 minutes/);
    }
  });

  it('refuses a tampered body, a wrong secret and a malformed signature', () => {
    expect(check({ rawBody: Buffer.from(`${BODY.toString()}x`) })).toThrow(UnauthorizedError);
    expect(check({ signature: slackSignature('another-secret', TS, BODY) })).toThrow('invalid Slack signature');
    expect(check({ signature: 'v0=abc' })).toThrow('invalid Slack signature');
    expect(check({ signature: slackSignature(SECRET, TS, BODY).replace('v0=', 'v1=') })).toThrow(UnauthorizedError);
  });

  it('refuses missing headers, a non-numeric timestamp, and any request when no secret is configured', () => {
    expect(check({ signature: undefined })).toThrow(/missing/);
    expect(check({ timestamp: undefined })).toThrow(/missing/);
    expect(check({ timestamp: 'soon' })).toThrow(UnauthorizedError);
    expect(check({ secret: '' })).toThrow(/no signing secret/);
  });
});
