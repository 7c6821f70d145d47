import { type IncidentEvent, IncidentPilotError, TransientError } from '@incident-pilot/core';
import {
  buildSlackMessage,
  createSlackSink,
  parseRetryAfter,
  SinkRejectedError,
  type SlackMessage,
} from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { baseIncident, COMMIT, FINGERPRINT, hostileIncident } from './incidents.js';

const SECRET_PATH = '/services/T0001/B0001/s3cr3tWebh00kT0ken';

/** Every string anywhere in a JSON value. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
}

interface TextObject {
  type: string;
  text: string;
  verbatim?: boolean;
}

/** Every text object of every block, tagged with where it sits. */
function textObjects(message: SlackMessage): { where: string; object: TextObject }[] {
  const out: { where: string; object: TextObject }[] = [];
  for (const block of message.blocks as Record<string, unknown>[]) {
    if (block.text) out.push({ where: `${block.type}.text`, object: block.text as TextObject });
    for (const f of (block.fields as TextObject[] | undefined) ?? []) out.push({ where: 'section.field', object: f });
    for (const e of (block.elements as TextObject[] | undefined) ?? []) out.push({ where: 'context', object: e });
  }
  return out;
}

const opened = (incident = baseIncident()): IncidentEvent => ({ type: 'opened', incident });
const updated = (incident = baseIncident()): IncidentEvent => ({
  type: 'updated',
  incident,
  revision: 2,
  // A change line quotes untrusted text (a finding summary), as the worker's do.
  changes: [{ kind: 'finding_added', severity: 'high', summary: `New finding [HIGH]: ${incident.title}` }],
});
const resolved = (incident = baseIncident()): IncidentEvent => ({
  type: 'resolved',
  incident: {
    ...incident,
    status: 'resolved',
    resolvedAt: '2026-11-25T05:02:04.097Z',
    resolution: 'all_alerts_resolved',
  },
});

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('Slack sink', () => {
  let server: CaptureServer;
  let webhookUrl: string;

  beforeEach(async () => {
    server = await startCaptureServer();
    webhookUrl = `${server.url}${SECRET_PATH}`;
  });
  afterEach(async () => {
    await server.close();
  });

  describe('escaping untrusted text (asserted on the bytes Slack receives)', () => {
    for (const make of [opened, updated, resolved]) {
      const type = make().type;
      it(`leaves no Slack control sequence in any field of a ${type} message`, async () => {
        await createSlackSink({ webhookUrl }).deliver(make(hostileIncident()));

        const [request] = await server.waitForRequests(1);
        const raw = request?.body.toString('utf8') ?? '';
        // JSON never needs `<`/`>` outside strings, so the raw bytes must hold none, in any spelling.
        expect(raw).not.toMatch(/[<>]/);
        expect(raw).not.toMatch(/\\u003[ce]/i);
        const message = JSON.parse(raw) as SlackMessage;
        const strings = allStrings(message);
        for (const s of strings) {
          for (const forbidden of ['<!', '<@', '<#', '<http']) expect(s).not.toContain(forbidden);
          // Every `&` starts a whole entity: truncation never cut one in half.
          expect(s).not.toMatch(/&(?!amp;|lt;|gt;)/);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting control characters are gone.
          expect(s).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e]/);
        }
        const everything = strings.join('\n');
        expect(everything).toContain('&lt;!channel&gt;');
        if (type === 'opened') {
          for (const shown of [
            '&lt;!here&gt;',
            '&lt;!everyone&gt;',
            '&lt;@U024BE7LH&gt;',
            '&lt;#C123|general&gt;',
            '&lt;!subteam^S123&gt;',
            '&lt;http://evil.example|click me&gt;',
            '&amp;amp; literal &amp;lt;b&amp;gt;',
            'a &amp; b &lt; c &gt; d',
            '日本語 🚨 Ünïcödé',
          ]) {
            expect(everything).toContain(shown);
          }
        }
        // Bare broadcast words in the notification text are defused.
        expect(message.text).not.toMatch(/@(here|channel|everyone)\b/);
      });
    }

    it('marks every mrkdwn object verbatim, so bare URLs and names are never auto-linked', () => {
      const message = buildSlackMessage(opened(hostileIncident()));
      const mrkdwn = textObjects(message).filter((t) => t.object.type === 'mrkdwn');
      expect(mrkdwn.length).toBeGreaterThan(5);
      for (const { object } of mrkdwn) expect(object.verbatim).toBe(true);
    });

    it('disables link and media unfurling', async () => {
      await createSlackSink({ webhookUrl }).deliver(opened());
      const [request] = await server.waitForRequests(1);
      expect(request?.json()).toMatchObject({ unfurl_links: false, unfurl_media: false });
      expect(request?.headers['content-type']).toMatch(/^application\/json/);
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe(SECRET_PATH);
    });
  });

  describe('Block Kit shape', () => {
    for (const [label, event] of [
      ['opened, hostile', opened(hostileIncident())],
      ['resolved, hostile', resolved(hostileIncident())],
      ['updated, hostile', updated(hostileIncident())],
      ['opened, plain', opened()],
    ] as const) {
      it(`stays within Slack's limits (${label})`, () => {
        const message = buildSlackMessage(event);
        expect(message.blocks.length).toBeLessThanOrEqual(50);
        expect(message.text.length).toBeGreaterThan(0);
        expect(message.text.length).toBeLessThanOrEqual(4000);
        for (const { where, object } of textObjects(message)) {
          expect(object.text.length).toBeGreaterThan(0);
          if (where === 'header.text') {
            expect(object.type).toBe('plain_text');
            expect(object.text.length).toBeLessThanOrEqual(150);
          } else if (where === 'section.text') expect(object.text.length).toBeLessThanOrEqual(3000);
          else expect(object.text.length).toBeLessThanOrEqual(2000);
        }
        for (const block of message.blocks) {
          if (block.type === 'section' && block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
          if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(10);
        }
      });
    }

    it('leads an update with what changed, then shows the incident as it is now', () => {
      const message = buildSlackMessage(updated());
      const [head, changes] = message.blocks;
      expect(head).toMatchObject({ type: 'header', text: { text: '🔄 Update: HighErrorRate on checkout' } });
      expect(JSON.stringify(changes)).toContain(
        '*What changed since the last update*\\n• New finding [HIGH]: HighErrorRate on checkout',
      );
      expect(message.text).toBe(
        'Update 2 [CRITICAL]: HighErrorRate on checkout — checkout (inc-20261125-checkout-0001)',
      );
      expect(JSON.stringify(message.blocks)).toContain(COMMIT);
    });

    it('opens with severity, service, team, status, alert counts and the ranked findings with evidence', () => {
      const message = buildSlackMessage(opened());
      const [head, facts] = message.blocks;
      expect(head).toEqual({
        type: 'header',
        text: { type: 'plain_text', text: '🔴 HighErrorRate on checkout', emoji: true },
      });
      const fields = facts?.type === 'section' ? (facts.fields ?? []).map((f) => f.text) : [];
      expect(fields).toEqual([
        '*Severity*\n🔴 critical',
        '*Service*\ncheckout',
        '*Alert*\nHighErrorRate',
        '*Team*\npayments',
        '*Status*\nopen',
        '*Alerts*\n2 firing, 1 resolved — partially resolved',
      ]);
      const texts = textObjects(message).map((t) => t.object.text);
      const all = texts.join('\n');
      expect(all).toContain(`\`${FINGERPRINT}\``);
      const deploy = texts.find((t) => t.startsWith('*1. 🟠 high · high confidence*'));
      expect(deploy).toContain(`Deploy ${COMMIT} of checkout 4 minutes before the alert`);
      expect(deploy).toContain('*Try:* `kubectl rollout undo deployment/checkout --to-revision=41`');
      expect(deploy).toContain(`• deploy \`${COMMIT}\` alice deployed checkout 4m before the alert`);
      expect(texts.find((t) => t.startsWith('*2. 🟡 medium · medium confidence*'))).toContain('2400ms');
      expect(all).toContain('incident `inc-20261125-checkout-0001`');
      expect(all).toContain('opened 2026-11-25T03:59:04.097Z');
      expect(message.text).toBe('[CRITICAL] HighErrorRate on checkout — checkout (inc-20261125-checkout-0001)');
    });

    it('notes truncated alerts and the incident it recurs after, only when there are any', () => {
      const plainFields = JSON.stringify(buildSlackMessage(opened()).blocks[1]);
      expect(plainFields).not.toContain('Truncated');
      expect(plainFields).not.toContain('recurs after');

      const message = buildSlackMessage(
        opened(baseIncident({ truncatedAlerts: 12, previousIncidentId: 'inc-20261124-checkout-0007' })),
      );
      const fields = JSON.stringify(message.blocks[1]);
      expect(fields).toContain('Alertmanager left out 12 more alerts (max_alerts)');
      expect(fields).toContain('recurs after `inc-20261124-checkout-0007`');
    });

    it('counts a single truncated alert in the singular', () => {
      const fields = JSON.stringify(buildSlackMessage(opened(baseIncident({ truncatedAlerts: 1 }))).blocks[1]);

      expect(fields).toContain('Alertmanager left out 1 more alert (max_alerts)');
    });

    it('says nothing about partial resolution when every alert still fires', () => {
      const message = buildSlackMessage(opened(baseIncident({ firingCount: 3, resolvedAlertCount: 0 })));
      expect(JSON.stringify(message.blocks[1])).toContain('3 firing, 0 resolved"');
    });

    it('shows the top five findings and counts the rest', () => {
      const finding = baseIncident().findings[0];
      if (!finding) throw new Error('fixture has a finding');
      const findings = Array.from({ length: 7 }, (_, i) => ({ ...finding, summary: `finding number ${i}` }));
      const message = buildSlackMessage(opened(baseIncident({ findings })));
      const texts = textObjects(message).map((t) => t.object.text);
      expect(texts.filter((t) => /^\*\d\. /.test(t))).toHaveLength(5);
      expect(texts.join('\n')).toContain(
        '2 more lower-ranked findings: `GET /api/incidents/inc-20261125-checkout-0001`',
      );
    });

    it('puts a suggestion containing backticks in a code block that its backticks cannot close', () => {
      const finding = { ...baseIncident().findings[0], suggestion: 'kubectl exec `pod` -- sh -c ```ls```' };
      const message = buildSlackMessage(opened(baseIncident({ findings: [finding as never] })));
      const text = textObjects(message).find((t) => t.object.text.includes('*Try:*'))?.object.text ?? '';
      const code = text.slice(text.indexOf('```'), text.lastIndexOf('```') + 3);
      // Only the two fences are runs of three backticks.
      expect(code.match(/```/g)).toHaveLength(2);
      expect(code.replaceAll('\u200b', '')).toBe('```kubectl exec `pod` -- sh -c ```ls``````');
    });

    it('announces a resolution briefly: how, after how long, and which incident', () => {
      const message = buildSlackMessage(resolved());
      expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
      expect(message.blocks[0]).toMatchObject({ text: { text: '✅ Resolved: HighErrorRate on checkout' } });
      const body = JSON.stringify(message.blocks[1]);
      expect(body).toContain('`inc-20261125-checkout-0001`');
      expect(body).toContain('(all alerts resolved) after 1h 3m');
      expect(message.text).toBe('Resolved: HighErrorRate on checkout — checkout (inc-20261125-checkout-0001)');
    });
  });

  describe('delivery', () => {
    it('resolves when Slack answers 2xx', async () => {
      await expect(createSlackSink({ webhookUrl }).deliver(opened())).resolves.toBeUndefined();
      expect(server.requests).toHaveLength(1);
    });

    it('turns 429 into a TransientError carrying Retry-After', async () => {
      server.respondWith({ status: 429, headers: { 'retry-after': '7' }, body: 'rate_limited' });
      const error = await failureOf(createSlackSink({ webhookUrl }).deliver(opened()));
      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).retryAfterSeconds).toBe(7);
    });

    it('assumes 30 seconds when a 429 has no Retry-After', async () => {
      server.respondWith({ status: 429 });
      const error = await failureOf(createSlackSink({ webhookUrl }).deliver(opened()));
      expect((error as TransientError).retryAfterSeconds).toBe(30);
    });

    it('turns 5xx into a TransientError', async () => {
      server.respondWith({ status: 500, body: 'internal_error' });
      const error = await failureOf(createSlackSink({ webhookUrl }).deliver(opened()));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('500');
    });

    it.each([
      [400, 'invalid_payload'],
      [404, 'no_service'],
      [403, 'action_prohibited'],
    ])('turns %i %s into a non-transient error naming status and body, never the URL', async (status, body) => {
      server.respondWith({ status, body: `${body} (for ${webhookUrl})` });
      const error = await failureOf(createSlackSink({ webhookUrl }).deliver(opened()));
      expect(error).toBeInstanceOf(IncidentPilotError);
      expect(error).toBeInstanceOf(SinkRejectedError);
      expect(error).not.toBeInstanceOf(TransientError);
      expect(error.message).toContain(String(status));
      expect(error.message).toContain(body);
      expect(`${error.message} ${(error as SinkRejectedError).detail} ${error.stack}`).not.toContain('s3cr3t');
    });

    it('truncates a long error body', async () => {
      server.respondWith({ status: 400, body: 'x'.repeat(10_000) });
      const error = (await failureOf(createSlackSink({ webhookUrl }).deliver(opened()))) as SinkRejectedError;
      expect(error.detail.length).toBeLessThanOrEqual(200);
      expect(error.message.length).toBeLessThan(300);
    });

    it('turns a timeout into a TransientError without the URL', async () => {
      server.respondWith({ delayMs: 2000 });
      const error = await failureOf(createSlackSink({ webhookUrl, timeoutMs: 100 }).deliver(opened()));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('100ms');
      expect(error.message).not.toContain('s3cr3t');
    });

    it('turns a network error into a TransientError without the URL', async () => {
      const closed = await startCaptureServer();
      await closed.close();
      const error = await failureOf(createSlackSink({ webhookUrl: `${closed.url}${SECRET_PATH}` }).deliver(opened()));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('network error');
      expect(`${error.message} ${error.stack} ${String(error.cause)}`).not.toContain('s3cr3t');
    });

    it('refuses an invalid webhook URL without echoing it', () => {
      expect(() => createSlackSink({ webhookUrl: 'not a url s3cr3t' })).toThrow(/not a valid URL/);
      expect(() => createSlackSink({ webhookUrl: 'not a url s3cr3t' })).not.toThrow(/s3cr3t/);
    });

    it('uses the injected fetch and its name', async () => {
      const calls: string[] = [];
      const fetch: typeof globalThis.fetch = async (input) => {
        calls.push(String(input));
        return new Response('ok', { status: 200 });
      };
      const sink = createSlackSink({ webhookUrl: 'https://hooks.slack.invalid/services/x', fetch, name: 'slack-sre' });
      await sink.deliver(opened());
      expect(sink.name).toBe('slack-sre');
      expect(calls).toEqual(['https://hooks.slack.invalid/services/x']);
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds and HTTP dates, and clamps', () => {
      const now = Date.parse('2026-11-25T04:00:00Z');
      expect(parseRetryAfter('7', now)).toBe(7);
      expect(parseRetryAfter(' 0 ', now)).toBe(0);
      expect(parseRetryAfter('Wed, 25 Nov 2026 04:00:42 GMT', now)).toBe(42);
      expect(parseRetryAfter('Wed, 25 Nov 2026 03:00:00 GMT', now)).toBe(0);
      expect(parseRetryAfter('999999', now)).toBe(3600);
      expect(parseRetryAfter('soon', now)).toBeUndefined();
      expect(parseRetryAfter(null, now)).toBeUndefined();
    });
  });
});
