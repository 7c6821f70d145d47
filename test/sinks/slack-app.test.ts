import {
  ConflictError,
  type Incident,
  type IncidentChange,
  type IncidentPatch,
  type IncidentRepository,
  NotFoundError,
  TransientError,
} from '@incident-pilot/core';
import {
  buildAppMessage,
  channelFor,
  createChannelPacer,
  createSlackApi,
  createSlackAppSink,
  parseInteraction,
  SLACK_LIMITS,
  SlackApiError,
} from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buttonsOf, type SlackApiStandIn, startSlackApi, visibleText } from '../helpers/slack-api.js';
import { baseIncident, HOSTILE, hostileIncident } from './incidents.js';

const TOKEN = 'xoxb-test-token-0001';
const CHANNEL = 'C0DEFAULT';
const NOW = Date.parse('2026-11-25T04:05:00Z');

/** The two incident-store calls the sink makes, over a Map (version-checked like DynamoDB). */
function memoryStore(...incidents: Incident[]) {
  const items = new Map(incidents.map((i) => [i.id, structuredClone(i)]));
  const store: Pick<IncidentRepository, 'getIncident' | 'patchIncident'> = {
    async getIncident(id) {
      const found = items.get(id);
      return found ? structuredClone(found) : null;
    },
    async patchIncident(id, patch: IncidentPatch, expectedVersion) {
      const current = items.get(id);
      if (!current) throw new NotFoundError(id);
      if (expectedVersion !== undefined && current.version !== expectedVersion) throw new ConflictError(id);
      const next = { ...current, ...patch, version: current.version + 1 } as Incident;
      for (const [k, v] of Object.entries(patch))
        if (v === null) delete (next as unknown as Record<string, unknown>)[k];
      items.set(id, next);
      return structuredClone(next);
    },
  };
  return { store, items };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** Every string in a JSON value. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
}

describe('Slack app sink', () => {
  let slack: SlackApiStandIn;
  beforeEach(async () => {
    slack = await startSlackApi({ token: TOKEN, channels: [CHANNEL, 'C0PAYMENTS', 'C0CHECKOUT'] });
  });
  afterEach(async () => {
    await slack.close();
  });

  function sinkFor(store: Pick<IncidentRepository, 'getIncident' | 'patchIncident'>, options = {}) {
    return createSlackAppSink({
      api: createSlackApi({ token: TOKEN, apiUrl: slack.url, timeoutMs: 2000 }),
      store,
      defaultChannel: CHANNEL,
      pace: createChannelPacer({ intervalMs: 0 }),
      now: () => NOW,
      ...options,
    });
  }

  describe('one message per incident', () => {
    it('posts the opened incident once and records where the message is on the incident', async () => {
      const { store, items } = memoryStore(baseIncident());
      const incident = baseIncident();

      await sinkFor(store).deliver({ type: 'opened', incident });

      expect(slack.posts()).toHaveLength(1);
      const [post] = slack.posts();
      expect(slack.calls[0]?.authorization).toBe(`Bearer ${TOKEN}`);
      expect(items.get(incident.id)?.slack).toEqual({ channel: CHANNEL, ts: post?.ts });
      expect(visibleText(post ?? { blocks: [], text: '' })).toContain('HighErrorRate on checkout');
      expect([...buttonsOf(post ?? { blocks: [] }).keys()]).toEqual(
        expect.arrayContaining([
          'incident_ack',
          'incident_resolve',
          'incident_mute_1h',
          'incident_mute_4h',
          'incident_mute_24h',
        ]),
      );
    });

    it('edits the message and replies in its thread on each update, never posting a second message', async () => {
      const { store } = memoryStore(baseIncident());
      const sink = sinkFor(store);
      await sink.deliver({ type: 'opened', incident: baseIncident() });
      const changes: IncidentChange[] = [
        { kind: 'severity_up', summary: 'severity high → critical' },
        { kind: 'finding_added', summary: 'new finding: logs.error_spike', ruleId: 'logs.error_spike' },
      ];

      await sink.deliver({ type: 'updated', incident: baseIncident(), revision: 1, changes });
      await sink.deliver({ type: 'updated', incident: baseIncident(), revision: 2, changes: changes.slice(0, 1) });

      const [post] = slack.posts();
      expect(slack.posts()).toHaveLength(1);
      expect(post?.edits).toBe(2);
      const replies = slack.replies(post?.ts ?? '');
      expect(replies).toHaveLength(2);
      expect(visibleText(replies[0] ?? { blocks: [], text: '' })).toContain('severity high → critical');
      expect(visibleText(replies[0] ?? { blocks: [], text: '' })).toContain('new finding: logs.error_spike');
    });

    it('marks the message resolved (how, by whom, after how long, the note) and says so in the thread', async () => {
      const { store, items } = memoryStore(baseIncident());
      const sink = sinkFor(store);
      await sink.deliver({ type: 'opened', incident: baseIncident() });
      const resolved: Incident = {
        ...(items.get(baseIncident().id) as Incident),
        status: 'resolved',
        resolvedAt: '2026-11-25T05:04:04.097Z',
        resolution: 'manual',
        resolvedBy: { id: 'U0ALICE', name: 'alice' },
        resolutionNote: 'rolled back <!channel>',
      };
      items.set(resolved.id, resolved);

      await sink.deliver({ type: 'resolved', incident: resolved });

      const [post] = slack.posts();
      const shown = visibleText(post ?? { blocks: [], text: '' });
      expect(shown).toContain('Resolved');
      expect(shown).toContain('Resolved (by hand) by *alice* after 1h 5m');
      expect(shown).toContain('alice');
      expect(shown).toContain('1h 5m');
      expect(shown).toContain('rolled back &lt;!channel&gt;');
      // No buttons to act on a closed incident, but the findings can still be voted on.
      const buttons = [...buttonsOf(post ?? { blocks: [] }).keys()];
      expect(buttons.filter((b) => b.startsWith('incident_'))).toEqual([]);
      expect(buttons.some((b) => b.startsWith('finding_up_'))).toBe(true);
      const [reply] = slack.replies(post?.ts ?? '');
      expect(visibleText(reply ?? { blocks: [], text: '' })).toContain('✅ Resolved (by hand) by *alice* after 1h 5m');
      expect(slack.posts()).toHaveLength(1);
    });

    it('edits instead of posting again when a retried "opened" finds the message recorded (a crash before the marker)', async () => {
      const { store } = memoryStore(baseIncident());
      const sink = sinkFor(store);
      await sink.deliver({ type: 'opened', incident: baseIncident() });

      // The worker died after posting: the marker was never written, so the event comes again.
      await sink.deliver({ type: 'opened', incident: baseIncident() });

      expect(slack.posts()).toHaveLength(1);
      expect(slack.posts()[0]?.edits).toBe(1);
    });

    it('posts a fresh message when the recorded one was deleted, and records the new one', async () => {
      const { store, items } = memoryStore({ ...baseIncident(), slack: { channel: CHANNEL, ts: '1.000001' } });

      await sinkFor(store).deliver({ type: 'updated', incident: baseIncident(), revision: 1, changes: [] });

      expect(slack.posts()).toHaveLength(1);
      expect(items.get(baseIncident().id)?.slack?.ts).toBe(slack.posts()[0]?.ts);
      expect(slack.replies(slack.posts()[0]?.ts ?? '')).toHaveLength(1);
    });

    // chat.update's errors for a message that is there but cannot be edited where it is: its channel
    // archived, deleted or left by the bot, or the message no longer the bot's to edit.
    for (const code of ['is_inactive', 'channel_not_found', 'not_in_channel', 'cant_update_message'] as const) {
      it(`posts a fresh message where the incident routes now when chat.update answers ${code}`, async () => {
        const { store, items } = memoryStore({ ...baseIncident(), slack: { channel: 'C0ARCHIVED', ts: '1.000001' } });
        slack.failNext('chat.update', { error: code });

        await sinkFor(store).deliver({ type: 'resolved', incident: baseIncident() });

        const [post] = slack.posts();
        expect(slack.posts()).toHaveLength(1);
        expect(post?.channel).toBe(CHANNEL);
        expect(items.get(baseIncident().id)?.slack).toEqual({ channel: CHANNEL, ts: post?.ts });
        expect(slack.replies(post?.ts ?? '')).toHaveLength(1);
      });
    }

    it('still fails loudly when chat.update is refused for a reason a fresh post would not fix', async () => {
      const { store, items } = memoryStore({ ...baseIncident(), slack: { channel: CHANNEL, ts: '1.000001' } });
      slack.failNext('chat.update', { error: 'invalid_auth' });

      const error = await failureOf(sinkFor(store).deliver({ type: 'resolved', incident: baseIncident() }));

      expect((error as SlackApiError).code).toBe('invalid_auth');
      expect(slack.posts()).toEqual([]);
      expect(items.get(baseIncident().id)?.slack?.ts).toBe('1.000001');
    });

    // Slack refuses a message whose blocks hold more than ~12,000 characters (undocumented), below the
    // documented per-block limits the full rendering keeps.
    for (const [method, type] of [
      ['chat.postMessage', 'opened'],
      ['chat.update', 'updated'],
    ] as const) {
      it(`sends the compact message when ${method} refuses the full one as too long`, async () => {
        const incident = hostileIncident();
        const { store } = memoryStore(incident);
        const sink = sinkFor(store);
        if (type === 'updated') await sink.deliver({ type: 'opened', incident });
        slack.failNext(method, { error: 'msg_blocks_too_long' });

        await sink.deliver({ type, incident, revision: 1, changes: [] });

        const refused = slack.calls.find((c) => c.method === method && c.outcome === 'msg_blocks_too_long');
        const taken = slack.calls.filter((c) => c.method === method && c.outcome === 'ok').at(-1);
        const size = (blocks: unknown) => allStrings(blocks).join('').length;
        expect(size(taken?.body.blocks)).toBeLessThan(size(refused?.body.blocks) / 2);
        const shown = visibleText({ blocks: taken?.body.blocks ?? [], text: '' });
        expect(shown).toContain(`Findings* (${incident.findings.length};`);
        expect(shown.match(/^\d\. /gm)).toHaveLength(Math.min(5, incident.findings.length));
        expect([...buttonsOf({ blocks: taken?.body.blocks ?? [] }).keys()]).toContain('incident_ack');
        expect(slack.posts()).toHaveLength(1);
      });
    }

    it('fails loudly when Slack refuses the compact message too', async () => {
      const { store } = memoryStore(baseIncident());
      slack.failNext('chat.postMessage', { error: 'invalid_blocks' }, 2);

      const error = await failureOf(sinkFor(store).deliver({ type: 'opened', incident: baseIncident() }));

      expect((error as SlackApiError).code).toBe('invalid_blocks');
      expect(slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(2);
      expect(slack.posts()).toEqual([]);
    });

    it('shows an acknowledgement and a running mute, with Unmute instead of the mute buttons', () => {
      const incident = baseIncident({
        acknowledgedBy: { id: 'U0BOB', name: 'bob' },
        acknowledgedAt: '2026-11-25T04:03:00.000Z',
        mute: { until: '2026-11-25T05:05:00.000Z', by: { id: 'U0BOB', name: 'bob' } },
      });

      const message = buildAppMessage(incident, { nowMs: NOW });

      const shown = visibleText(message);
      expect(shown).toContain('Acknowledged by *bob*');
      expect(shown).toContain('muted until 2026-11-25T05:05:00.000Z');
      const buttons = [...buttonsOf(message).keys()];
      expect(buttons).toContain('incident_unmute');
      expect(buttons).not.toContain('incident_ack');
      expect(buttons.filter((b) => b.startsWith('incident_mute_'))).toEqual([]);
      // An expired mute shows the mute buttons again.
      expect([...buttonsOf(buildAppMessage(incident, { nowMs: NOW + 2 * 3_600_000 })).keys()]).toContain(
        'incident_mute_1h',
      );
    });

    it('links to the incident when a public URL is set', () => {
      const message = buildAppMessage(baseIncident(), { nowMs: NOW, publicUrl: 'https://pilot.example.com/' });

      expect(visibleText(message)).toContain(
        '<https://pilot.example.com/api/incidents/inc-20261125-checkout-0001|Open incident>',
      );
      expect(visibleText(buildAppMessage(baseIncident(), { nowMs: NOW }))).not.toContain('Open incident');
    });
  });

  describe('routing', () => {
    const channels = { byService: { checkout: 'C0CHECKOUT' }, byTeam: { payments: 'C0PAYMENTS', search: 'C0SEARCH' } };

    it('sends a service to its channel first, then a team to its channel, else the default', () => {
      expect(channelFor({ service: 'checkout', team: 'payments' }, CHANNEL, channels)).toBe('C0CHECKOUT');
      expect(channelFor({ service: 'cart', team: 'payments' }, CHANNEL, channels)).toBe('C0PAYMENTS');
      expect(channelFor({ service: 'cart', team: 'growth' }, CHANNEL, channels)).toBe(CHANNEL);
      expect(channelFor({ service: 'cart', team: 'growth' }, CHANNEL)).toBe(CHANNEL);
    });

    it('posts to the routed channel and keeps editing the message there', async () => {
      const incident = baseIncident({ service: 'cart' });
      const { store, items } = memoryStore(incident);

      await sinkFor(store, { channels }).deliver({ type: 'opened', incident });

      expect(slack.posts()[0]?.channel).toBe('C0PAYMENTS');
      expect(items.get(incident.id)?.slack?.channel).toBe('C0PAYMENTS');
    });
  });

  describe("Slack's errors, by kind", () => {
    it('retries after Retry-After on HTTP 429 and on ratelimited', async () => {
      const { store } = memoryStore(baseIncident());
      slack.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
      slack.failNext('chat.postMessage', { error: 'ratelimited', retryAfter: 3 });
      const sink = sinkFor(store);

      const first = await failureOf(sink.deliver({ type: 'opened', incident: baseIncident() }));
      const second = await failureOf(sink.deliver({ type: 'opened', incident: baseIncident() }));
      await sink.deliver({ type: 'opened', incident: baseIncident() });

      expect(first).toBeInstanceOf(TransientError);
      expect((first as TransientError).retryAfterSeconds).toBe(7);
      expect((second as TransientError).retryAfterSeconds).toBe(3);
      expect(slack.posts()).toHaveLength(1);
    });

    it("retries chat.postMessage's older spelling rate_limited (too many posts) like ratelimited", async () => {
      const { store } = memoryStore(baseIncident());
      slack.failNext('chat.postMessage', { error: 'rate_limited' });

      const error = await failureOf(sinkFor(store).deliver({ type: 'opened', incident: baseIncident() }));

      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).retryAfterSeconds).toBeGreaterThan(0);
    });

    it('treats 5xx, timeouts and network errors as transient', async () => {
      const { store } = memoryStore(baseIncident());
      slack.failNext('chat.postMessage', { status: 503 });
      slack.failNext('chat.postMessage', { delayMs: 1500 });
      const api = createSlackApi({ token: TOKEN, apiUrl: slack.url, timeoutMs: 300 });
      const sink = sinkFor(store, { api });

      expect(await failureOf(sink.deliver({ type: 'opened', incident: baseIncident() }))).toBeInstanceOf(
        TransientError,
      );
      expect(await failureOf(sink.deliver({ type: 'opened', incident: baseIncident() }))).toBeInstanceOf(
        TransientError,
      );
      const closed = createSlackApi({ token: TOKEN, apiUrl: 'http://127.0.0.1:1/api' });
      expect(await failureOf(closed.call('chat.postMessage', {}))).toBeInstanceOf(TransientError);
    });

    for (const [code, hint] of [
      ['channel_not_found', 'INCIDENT_PILOT_SLACK_CHANNEL'],
      ['not_in_channel', 'invite the app'],
      ['invalid_auth', 'INCIDENT_PILOT_SLACK_BOT_TOKEN'],
      ['token_revoked', 'reinstall the app'],
    ] as const) {
      it(`fails loudly on ${code}, naming the problem and never the token`, async () => {
        const { store, items } = memoryStore(baseIncident());
        slack.failNext('chat.postMessage', { error: code });

        const error = await failureOf(sinkFor(store).deliver({ type: 'opened', incident: baseIncident() }));

        expect(error).toBeInstanceOf(SlackApiError);
        expect(error).not.toBeInstanceOf(TransientError);
        expect(error.message).toContain(code);
        expect(error.message).toContain(hint);
        expect(error.message).not.toContain(TOKEN);
        expect(items.get(baseIncident().id)?.slack).toBeUndefined();
      });
    }

    it('is refused by Slack with a wrong token (the stand-in checks it)', async () => {
      const { store } = memoryStore(baseIncident());
      const api = createSlackApi({ token: 'xoxb-wrong', apiUrl: slack.url });

      const error = await failureOf(sinkFor(store, { api }).deliver({ type: 'opened', incident: baseIncident() }));

      expect((error as SlackApiError).code).toBe('invalid_auth');
    });
  });

  describe('pacing', () => {
    it('keeps posts to one channel about a second apart, and other channels are not held up', async () => {
      const incidents = [1, 2, 3].map((n) => baseIncident({ id: `inc-${n}` }));
      const other = baseIncident({ id: 'inc-other', team: 'payments' });
      const { store } = memoryStore(...incidents, other);
      const sink = sinkFor(store, {
        pace: createChannelPacer({ intervalMs: 400, burst: 1 }),
        channels: { byService: {}, byTeam: { payments: 'C0PAYMENTS' } },
      });
      const started = Date.now();

      await Promise.all([...incidents, other].map((incident) => sink.deliver({ type: 'opened', incident })));

      const at = slack.calls.filter((c) => c.body.channel === CHANNEL).map((c) => c.at);
      for (let i = 1; i < at.length; i++) expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeGreaterThanOrEqual(380);
      const otherAt = slack.calls.find((c) => c.body.channel === 'C0PAYMENTS')?.at ?? Infinity;
      expect(otherAt - started).toBeLessThan(300);
    });

    it('lets a burst through at once, then spaces the posts that follow it', async () => {
      let clock = 0;
      const waits: number[] = [];
      const pace = createChannelPacer({ intervalMs: 1000, burst: 3, maxWaitMs: 10_000, now: () => clock });
      const timed = async () => {
        const started = Date.now();
        await pace(CHANNEL);
        waits.push(Date.now() - started);
      };

      for (let i = 0; i < 3; i++) await timed();
      expect(Math.max(...waits)).toBeLessThan(50);
      // The fourth post within the same second waits its turn: a second after the first.
      await timed();
      expect(waits[3]).toBeGreaterThanOrEqual(950);
      // Once the channel has been quiet for a burst's worth of seconds, a burst goes through again.
      clock += 10_000;
      waits.length = 0;
      for (let i = 0; i < 3; i++) await timed();
      expect(Math.max(...waits)).toBeLessThan(50);
    });

    it('sends an update back to the queue before editing the message when its channel is too busy for the reply', async () => {
      const incident = baseIncident();
      const { store } = memoryStore(incident);
      const sink = sinkFor(store, { pace: createChannelPacer({ intervalMs: 60_000, burst: 1, maxWaitMs: 0 }) });
      await sink.deliver({ type: 'opened', incident });
      const callsBefore = slack.calls.length;

      const error = await failureOf(sink.deliver({ type: 'updated', incident, revision: 1, changes: [] }));

      expect(error).toBeInstanceOf(TransientError);
      // No edit now that the retry would make again.
      expect(slack.calls.slice(callsBefore)).toEqual([]);
    });

    it('edits the message to what the incident is once its turn came, keeping an acknowledgement made meanwhile', async () => {
      const incident = baseIncident();
      const { store } = memoryStore(incident);
      const pacer = createChannelPacer({ intervalMs: 0 });
      let clickWhileWaiting = false;
      const sink = sinkFor(store, {
        // Someone presses Acknowledge while the update waits for its turn in the channel.
        pace: async (channel: string) => {
          const waited = await pacer(channel);
          if (!clickWhileWaiting) return waited;
          await store.patchIncident(incident.id, {
            acknowledgedBy: { id: 'U0ALICE', name: 'alice' },
            acknowledgedAt: '2026-11-25T04:06:00Z',
          });
          return 1000;
        },
      });
      await sink.deliver({ type: 'opened', incident });
      clickWhileWaiting = true;

      await sink.deliver({ type: 'updated', incident, revision: 1, changes: [] });

      const [post] = slack.posts();
      expect(post?.edits).toBe(1);
      expect(visibleText(post ?? { blocks: [], text: '' })).toContain('Acknowledged by *alice*');
      expect(buttonsOf(post ?? { blocks: [] }).has('incident_ack')).toBe(false);
    });

    it('turns a wait longer than its bound into a retry later', async () => {
      const pace = createChannelPacer({ intervalMs: 1000, burst: 1, maxWaitMs: 1500 });
      await pace(CHANNEL);
      await pace(CHANNEL); // waits ~1 s

      const error = await failureOf(Promise.all([pace(CHANNEL), pace(CHANNEL)]));

      expect(error).toBeInstanceOf(TransientError);
      expect((error as TransientError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    });
  });

  describe('Block Kit limits and escaping (asserted on what Slack receives)', () => {
    it('keeps every untrusted string escaped in the message, its edits and thread replies', async () => {
      const incident = hostileIncident();
      const { store, items } = memoryStore(incident);
      const sink = sinkFor(store);
      const changes = HOSTILE.map((summary) => ({ kind: 'finding_changed' as const, summary }));

      await sink.deliver({ type: 'opened', incident });
      await sink.deliver({ type: 'updated', incident, revision: 1, changes });
      items.set(incident.id, {
        ...(items.get(incident.id) as Incident),
        status: 'resolved',
        resolvedAt: '2026-11-25T05:00:00.000Z',
        resolution: 'manual',
        resolvedBy: { id: 'U1', name: HOSTILE[0] },
        resolutionNote: HOSTILE.join('\n'),
        acknowledgedBy: { id: 'U1', name: HOSTILE[1] },
      });
      await sink.deliver({ type: 'resolved', incident });

      const writes = slack.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
      expect(writes.length).toBe(5);
      for (const call of writes) {
        const strings = allStrings({ text: call.body.text, blocks: call.body.blocks });
        for (const s of strings) expect(s, call.method).not.toMatch(/<[!@#]|<https?:/);
        expect(call.body.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
        for (const block of call.body.blocks) {
          if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
          if (block.type === 'section' && block.text) {
            expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
            expect(block.text.verbatim).toBe(true);
          }
        }
      }
    });
  });
});

describe('parseInteraction', () => {
  const click = (actionTs?: unknown) => ({
    type: 'block_actions',
    user: { id: 'U1', username: 'alice' },
    actions: [
      {
        action_id: 'finding_down_1',
        value: JSON.stringify({ incidentId: 'inc-1', ruleId: 'logs.error_spike' }),
        ...(actionTs === undefined ? {} : { action_ts: actionTs }),
      },
    ],
  });

  it("dates a vote by Slack's action_ts, the moment of the click, so the store can keep the later one", () => {
    expect(parseInteraction(click('1764475201.123456'))).toMatchObject({
      kind: 'vote',
      at: '2025-11-30T04:00:01.123Z',
    });
  });

  it('leaves a vote without a usable action_ts undated (it is then dated on arrival), never dropping the click', () => {
    for (const actionTs of [undefined, '', 'soon', '1e9', 1764475201, 'x'.repeat(100)]) {
      const vote = parseInteraction(click(actionTs));
      expect(vote, String(actionTs)).toMatchObject({ kind: 'vote', vote: 'down' });
      expect(vote).not.toHaveProperty('at');
    }
  });
});
