/**
 * Slack app mode end to end: the local stack posting to a Slack Web API stand-in, and buttons pressed
 * through POST /slack/interactions with signed (and forged) requests, as Slack sends them.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { TransientError } from '@incident-pilot/core';
import { encodeValue } from '@incident-pilot/sinks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRoot } from '../../functions/lib/composition.js';
import { slackSignature } from '../../functions/lib/slack-signature.js';
import { startTestStack, type TestStack, waitFor } from '../helpers/local-stack.js';
import {
  buttonsOf,
  type SlackApiStandIn,
  type StoredMessage,
  startSlackApi,
  visibleText,
} from '../helpers/slack-api.js';

const TOKEN = 'xoxb-e2e-token';
const SIGNING_SECRET = 'e2e-signing-secret-0123456789abcdef';
const CHANNEL = 'C0DEFAULT';
const ALICE = { id: 'U0ALICE', username: 'alice', name: 'alice' };
const BOB = { id: 'U0BOB', username: 'bob', name: 'bob' };

let stack: TestStack;
let slack: SlackApiStandIn;

beforeAll(async () => {
  slack = await startSlackApi({ token: TOKEN, channels: [CHANNEL, 'C0BILLING'] });
  stack = await startTestStack({
    env: {
      INCIDENT_PILOT_SLACK_BOT_TOKEN: TOKEN,
      INCIDENT_PILOT_SLACK_CHANNEL: CHANNEL,
      INCIDENT_PILOT_SLACK_API_URL: slack.url,
      INCIDENT_PILOT_SLACK_SIGNING_SECRET: SIGNING_SECRET,
      INCIDENT_PILOT_PUBLIC_URL: 'https://pilot.example.com',
      INCIDENT_PILOT_ENGINE_CONFIG: JSON.stringify({ slack: { channels: { byService: { billing: 'C0BILLING' } } } }),
      // Every material change is announced at once, so updates can be watched here.
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: '0',
    },
  });
});
afterAll(async () => {
  await stack?.destroy();
  await slack?.close();
});

// --- Alerts in ------------------------------------------------------------------------------------

let fingerprints = 0;

/** An Alertmanager notification for `service`'s group; a new fingerprint each firing unless given. */
function webhook(service: string, status: 'firing' | 'resolved', fingerprint: string, startsAt: string) {
  const labels = { alertname: 'HighErrorRate', service, severity: 'critical', team: 'ops' };
  return {
    version: '4',
    groupKey: `{}:{alertname="HighErrorRate", service="${service}"}`,
    status,
    receiver: 'incident-pilot',
    truncatedAlerts: 0,
    groupLabels: { alertname: 'HighErrorRate', service },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status,
        labels,
        annotations: { summary: `5xx above 5% on ${service}` },
        startsAt,
        endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint,
      },
    ],
  };
}

const postsAbout = (service: string) => slack.posts().filter((m) => m.text.includes(` — ${service} (`));

/** Fires an alert (after a deploy, so the deploy rule has a finding) and waits for its Slack message. */
async function openIncident(service: string) {
  const now = Date.now();
  await stack.api('/context/deploys', {
    body: { service, commit: 'a1b2c3d', author: 'dana', when: new Date(now - 3 * 60_000).toISOString() },
  });
  const fingerprint = `f${String(++fingerprints).padStart(15, '0')}`;
  const startsAt = new Date(now).toISOString();
  expect((await stack.api('/alerts', { body: webhook(service, 'firing', fingerprint, startsAt) })).status).toBe(202);
  const before = postsAbout(service).length;
  const post = await slack.waitFor(() => postsAbout(service)[before]);
  // The message ref is written right after Slack answers.
  const incident = await waitFor(async () => {
    const found = await incidentOf(service);
    return found?.slack?.ts === post.ts ? found : undefined;
  });
  return { incident, post, fingerprint, startsAt };
}

async function incidentOf(service: string) {
  const { body } = await stack.api('/api/incidents?limit=100');
  return body.incidents.find((i: { service: string }) => i.service === service);
}

const getIncident = async (id: string) => (await stack.api(`/api/incidents/${id}`)).body;

// --- Slack in -------------------------------------------------------------------------------------

interface SendOptions {
  secret?: string;
  timestamp?: number;
  /** Signs one body, sends another. */
  tamper?: boolean;
  unsigned?: boolean;
}

async function interact(payload: object, options: SendOptions = {}) {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signed = options.tamper ? body.replace('alice', 'mallory') : body;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (!options.unsigned) {
    headers['x-slack-request-timestamp'] = timestamp;
    headers['x-slack-signature'] = slackSignature(options.secret ?? SIGNING_SECRET, timestamp, signed);
  }
  const res = await fetch(`${stack.url}/slack/interactions`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** A `block_actions` payload for pressing a button of `message` (or one with the given value). */
function press(message: StoredMessage, actionId: string, user = ALICE, value = buttonsOf(message).get(actionId)) {
  if (value === undefined) throw new Error(`no button ${actionId} on the message`);
  return {
    type: 'block_actions',
    user: { ...user, team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.1234.abcdef`,
    team: { id: 'T0TEAM', domain: 'example' },
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    channel: { id: message.channel, name: 'incidents' },
    message: { type: 'message', ts: message.ts, text: message.text },
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/xyz',
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, action_ts: String(Date.now() / 1000) }],
  };
}

describe('Slack app mode (local stack against a Slack Web API stand-in)', () => {
  it('posts one message per incident with buttons and a link, routed by service, and records it on the incident', async () => {
    const { incident, post } = await openIncident('billing');

    expect(post.channel).toBe('C0BILLING');
    expect(incident.slack).toEqual({ channel: 'C0BILLING', ts: post.ts });
    expect([...buttonsOf(post).keys()]).toEqual(
      expect.arrayContaining([
        'incident_ack',
        'incident_resolve',
        'incident_mute_1h',
        'finding_up_1',
        'finding_down_1',
      ]),
    );
    expect(visibleText(post)).toContain(`https://pilot.example.com/api/incidents/${incident.id}`);
    expect(slack.calls.every((c) => c.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('Updated: a new alert in the group edits the one message and says what changed in its thread', async () => {
    const { incident, post, startsAt } = await openIncident('update-svc');

    await stack.api('/alerts', { body: webhook('update-svc', 'firing', 'f0000000000000ee', startsAt) });
    const reply = await slack.waitFor(() => slack.replies(post.ts)[0]);

    expect(visibleText(reply)).toContain('1 new firing alert (2 of 2 firing)');
    expect(visibleText(post)).toContain('2 firing, 0 resolved');
    expect(post.edits).toBeGreaterThanOrEqual(1);
    expect(postsAbout('update-svc')).toHaveLength(1);
    expect((await getIncident(incident.id)).slack).toEqual(incident.slack);
  });

  it('Acknowledge: forged, tampered, stale and unsigned clicks get 401 and change nothing; a signed one records who and when', async () => {
    const { incident, post } = await openIncident('ack-svc');
    const click = press(post, 'incident_ack');

    const refused = [
      await interact(click, { secret: 'not-the-signing-secret' }),
      await interact(click, { tamper: true }),
      await interact(click, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }),
      await interact(click, { unsigned: true }),
    ];
    const untouched = await getIncident(incident.id);
    const accepted = await interact(click);

    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expect(untouched.version).toBe(incident.version);
    expect(untouched.acknowledgedBy).toBeUndefined();
    expect(accepted.status).toBe(200);
    const acked = await getIncident(incident.id);
    expect(acked.acknowledgedBy).toEqual({ id: ALICE.id, name: 'alice' });
    expect(Date.parse(acked.acknowledgedAt)).toBeGreaterThan(Date.now() - 60_000);
    // The message shows it (edited in place) and the thread says so.
    expect(visibleText(post)).toContain('Acknowledged by *alice*');
    expect(buttonsOf(post).has('incident_ack')).toBe(false);
    expect(slack.replies(post.ts).map((r) => r.text)).toEqual(['Acknowledged']);
    expect(postsAbout('ack-svc')).toHaveLength(1);
  });

  it('answers clicks it has nothing to do for with 200, and a request without a payload with 400', async () => {
    const { post } = await openIncident('noop-svc');
    const unknown = { ...press(post, 'incident_ack'), actions: [{ action_id: 'something_else', value: 'x' }] };

    expect((await interact(unknown)).status).toBe(200);
    expect((await interact({ type: 'shortcut', user: ALICE })).status).toBe(200);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(`${stack.url}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, 'nothing=here'),
      },
      body: 'nothing=here',
    });
    expect(res.status).toBe(400);
  });

  it('Resolve: opens the modal, and its submission resolves the incident with the note; the worker edits the message and replies once', async () => {
    const { incident, post } = await openIncident('resolve-svc');
    const click = press(post, 'incident_resolve', BOB);

    expect((await interact(click)).status).toBe(200);
    const open = slack.calls.find((c) => c.method === 'views.open' && c.body.trigger_id === click.trigger_id);
    expect(open?.body.view.callback_id).toBe('incident_resolve');
    const { view } = open?.body ?? {};
    const input = view.blocks.find((b: { type: string }) => b.type === 'input');
    const submission = {
      type: 'view_submission',
      user: BOB,
      view: {
        id: 'V0001',
        callback_id: view.callback_id,
        private_metadata: view.private_metadata,
        state: {
          values: {
            [input.block_id]: {
              [input.element.action_id]: { type: 'plain_text_input', value: 'rolled back a1b2c3d <!channel>' },
            },
          },
        },
      },
    };
    const submitted = await interact(submission);

    expect(submitted).toEqual({ status: 200, text: '' });
    const resolved = await getIncident(incident.id);
    expect(resolved).toMatchObject({
      status: 'resolved',
      resolution: 'manual',
      resolvedBy: { id: BOB.id, name: 'bob' },
      resolutionNote: 'rolled back a1b2c3d <!channel>',
    });
    const reply = await slack.waitFor(() => slack.replies(post.ts).find((r) => visibleText(r).includes('by hand')));
    expect(visibleText(reply)).toContain('rolled back a1b2c3d &lt;!channel&gt;');
    expect(visibleText(post)).toContain('Resolved (by hand) by *bob*');
    expect([...buttonsOf(post).keys()].filter((b) => b.startsWith('incident_'))).toEqual([]);
    expect(postsAbout('resolve-svc')).toHaveLength(1);
    // Submitting again (a double click) changes nothing and sends nothing more.
    expect((await interact(submission)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.replies(post.ts).filter((r) => visibleText(r).includes('by hand'))).toHaveLength(1);
  });

  it('Resolve: a submission whose job could not be queued is announced when the person submits again', async () => {
    const { incident, post } = await openIncident('resolve-retry-svc');
    const submission = {
      type: 'view_submission',
      user: BOB,
      view: {
        id: 'V0002',
        callback_id: 'incident_resolve',
        private_metadata: encodeValue({ incidentId: incident.id }),
        state: { values: {} },
      },
    };
    const queue = getRoot().queue;
    const enqueue = queue.enqueue;
    queue.enqueue = async () => {
      throw new TransientError('SQS SendMessage: throttled');
    };
    let failed: { status: number };
    try {
      failed = await interact(submission);
    } finally {
      queue.enqueue = enqueue;
    }
    expect(failed.status).toBe(503);
    expect((await getIncident(incident.id)).status).toBe('resolved');

    expect((await interact(submission)).status).toBe(200);

    const reply = await slack.waitFor(() => slack.replies(post.ts).find((r) => visibleText(r).includes('by hand')));
    expect(visibleText(reply)).toContain('by hand');
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.replies(post.ts).filter((r) => visibleText(r).includes('by hand'))).toHaveLength(1);
  });

  it('Mute: holds the group’s notifications (a recurrence’s too) until Unmute; the resolution still goes out', async () => {
    const first = await openIncident('mute-svc');

    expect((await interact(press(first.post, 'incident_mute_4h'))).status).toBe(200);
    const muted = await getIncident(first.incident.id);
    const until = Date.parse(muted.mute.until);
    expect(until - Date.now()).toBeGreaterThan(4 * 3_600_000 - 60_000);
    expect(muted.mute.by).toEqual({ id: ALICE.id, name: 'alice' });
    expect(visibleText(first.post)).toContain('Notifications muted until');
    expect(buttonsOf(first.post).has('incident_unmute')).toBe(true);

    // A change while muted is recorded but not announced…
    await stack.api('/alerts', { body: webhook('mute-svc', 'firing', 'f0000000000000fe', first.startsAt) });
    await waitFor(async () => (await getIncident(first.incident.id)).firingCount === 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.replies(first.post.ts).filter((r) => visibleText(r).includes('new firing'))).toEqual([]);
    // …until Unmute sends what was held.
    expect((await interact(press(first.post, 'incident_unmute'))).status).toBe(200);
    await slack.waitFor(() => slack.replies(first.post.ts).find((r) => visibleText(r).includes('1 new firing alert')));
    expect((await interact(press(first.post, 'incident_mute_1h'))).status).toBe(200);

    // The resolution is not held: it ends the noise.
    await stack.api('/alerts', { body: webhook('mute-svc', 'resolved', first.fingerprint, first.startsAt) });
    await stack.api('/alerts', { body: webhook('mute-svc', 'resolved', 'f0000000000000fe', first.startsAt) });
    await slack.waitFor(() => visibleText(first.post).includes('Resolved'));

    // A recurrence of the muted group opens an incident, muted too: recorded, not announced.
    const startsAt = new Date().toISOString();
    await stack.api('/alerts', { body: webhook('mute-svc', 'firing', 'f0000000000000ff', startsAt) });
    const second = await waitFor(async () => {
      const latest = await incidentOf('mute-svc');
      return latest && latest.id !== first.incident.id ? latest : undefined;
    });
    expect(second.mute).toEqual((await getIncident(first.incident.id)).mute);
    await new Promise((r) => setTimeout(r, 2000));
    expect(postsAbout('mute-svc')).toHaveLength(1);

    // Unmute: the held "opened" goes out.
    // (The new incident has no message yet: its Unmute is pressed as from the API's side.)
    const unmute = press(first.post, 'incident_unmute', ALICE, encodeValue({ incidentId: second.id }));
    expect((await interact(unmute)).status).toBe(200);
    const announced = await slack.waitFor(() => postsAbout('mute-svc')[1]);
    // The message's ts is stored once the post has returned: wait for it rather than race it.
    const stored = await waitFor(async () => {
      const incident = await getIncident(second.id);
      return incident.slack?.ts ? incident : undefined;
    });
    expect(stored.mute).toBeUndefined();
    expect(stored.slack.ts).toBe(announced.ts);
  });

  it('Votes: one per user per finding, changeable; GET /api/rules scores every rule', async () => {
    const { post } = await openIncident('vote-svc');

    for (const [action, user] of [
      ['finding_up_1', ALICE],
      ['finding_down_1', ALICE], // alice changes her mind
      ['finding_up_1', BOB],
      ['finding_up_1', BOB], // a double click counts once
    ] as const) {
      expect((await interact(press(post, action, user))).status).toBe(200);
    }
    const { status, body } = await stack.api('/api/rules');

    expect(status).toBe(200);
    const byId = Object.fromEntries(body.rules.map((r: { id: string }) => [r.id, r]));
    expect(Object.keys(byId)).toEqual(
      expect.arrayContaining(['deploy.recent_correlated', 'logs.error_spike', 'traces.tail_latency']),
    );
    const votedRule = JSON.parse(buttonsOf(post).get('finding_up_1') ?? '{}').ruleId;
    const { body: list } = await stack.api('/api/incidents?limit=100');
    const firedOn = list.incidents.filter((i: { findings: { ruleId: string }[] }) =>
      i.findings.some((f) => f.ruleId === votedRule),
    );
    expect(byId[votedRule]).toMatchObject({ up: 1, down: 1, precision: 0.5, fired: firedOn.length });
    expect(byId[votedRule].lastFiredAt).toBe(
      firedOn
        .map((i: { openedAt: string }) => i.openedAt)
        .sort()
        .at(-1),
    );
    expect(byId['traces.tail_latency']).toMatchObject({ fired: 0, up: 0, down: 0, precision: null, lastFiredAt: null });
  });

  it('posts one message for a group delivered twice at once (an HA pair) and for its later notifications', async () => {
    const startsAt = new Date().toISOString();
    const body = webhook('ha-svc', 'firing', 'f00000000000000a', startsAt);

    const answers = await Promise.all([1, 2, 3].map(() => stack.api('/alerts', { body })));
    await slack.waitFor(() => postsAbout('ha-svc')[0]);
    await stack.api('/alerts', { body: webhook('ha-svc', 'firing', 'f00000000000000b', startsAt) });
    await new Promise((r) => setTimeout(r, 2000));

    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(postsAbout('ha-svc')).toHaveLength(1);
  });

  it('keeps top-level posts to one channel about a second apart in a storm, after a burst of 5', async () => {
    const services = ['storm-a', 'storm-b', 'storm-c', 'storm-d', 'storm-e', 'storm-f', 'storm-g'];
    const startsAt = new Date().toISOString();

    await Promise.all(
      services.map((service, i) =>
        stack.api('/alerts', { body: webhook(service, 'firing', `f00000000000010${i}`, startsAt) }),
      ),
    );
    await slack.waitFor(() => services.every((service) => postsAbout(service).length === 1), 20_000);

    const at = slack.calls
      .filter(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.outcome === 'ok' &&
          services.some((s) => c.body.text.includes(` — ${s} (`)),
      )
      .map((c) => c.at);
    expect(at).toHaveLength(services.length);
    // Never more than 5 posts within a second: each post comes a second or more after the fifth before it.
    for (let i = 5; i < at.length; i++) expect((at[i] ?? 0) - (at[i - 5] ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('shows a pressed button that the incident was resolved meanwhile, when the worker’s edit is not through yet', async () => {
    const { incident, post } = await openIncident('stale-svc');
    // The worker's edit for the resolution is rate-limited (its retry long after this test): the
    // message still offers the buttons of an open incident.
    slack.failNext('chat.update', { status: 429, retryAfter: 600 });
    expect((await stack.api(`/api/incidents/${incident.id}/resolve`, { method: 'POST' })).status).toBe(200);
    await slack.waitFor(() =>
      slack.calls.find((c) => c.method === 'chat.update' && c.body.ts === post.ts && c.outcome === 'http_429'),
    );
    const clicks = [press(post, 'incident_ack'), press(post, 'incident_resolve')];
    const edits = () =>
      slack.calls.filter((c) => c.method === 'chat.update' && c.body.ts === post.ts && c.outcome === 'ok');

    for (const click of clicks) {
      const before = edits().length;
      expect((await interact(click)).status).toBe(200);
      expect(edits().length).toBe(before + 1);
    }

    expect(visibleText(post)).toContain('Resolved (by hand)');
    expect([...buttonsOf(post).keys()].filter((b) => b.startsWith('incident_'))).toEqual([]);
    // Nothing else changed: no acknowledgement, no modal, no thread note.
    expect((await getIncident(incident.id)).acknowledgedBy).toBeUndefined();
    const modals = slack.calls.filter((c) => c.method === 'views.open' && c.body.trigger_id === clicks[1]?.trigger_id);
    expect(modals).toEqual([]);
    expect(slack.replies(post.ts)).toEqual([]);
  });

  it('re-renders a button that changes nothing on an open incident: a message its last click could not refresh', async () => {
    const { incident, post } = await openIncident('restale-svc');
    const edits = () =>
      slack.calls.filter((c) => c.method === 'chat.update' && c.body.ts === post.ts && c.outcome === 'ok');
    const pressAgain = async (actionId: string, stale: typeof post) => {
      const before = edits().length;
      expect((await interact(press(stale, actionId, BOB))).status).toBe(200);
      return edits().length - before;
    };

    // Alice's acknowledgement is stored, but its re-render is rate-limited: the message still offers it.
    slack.failNext('chat.update', { status: 429, retryAfter: 600 });
    expect((await interact(press(post, 'incident_ack'))).status).toBe(200);
    expect(buttonsOf(post).has('incident_ack')).toBe(true);
    // Bob presses it: nothing to change, but he sees why.
    expect(await pressAgain('incident_ack', structuredClone(post))).toBe(1);
    expect(visibleText(post)).toContain('Acknowledged by *alice*');
    expect(buttonsOf(post).has('incident_ack')).toBe(false);

    // The same for an Unmute whose re-render failed.
    expect((await interact(press(post, 'incident_mute_1h'))).status).toBe(200);
    slack.failNext('chat.update', { status: 429, retryAfter: 600 });
    expect((await interact(press(post, 'incident_unmute'))).status).toBe(200);
    expect(buttonsOf(post).has('incident_unmute')).toBe(true);
    expect(await pressAgain('incident_unmute', structuredClone(post))).toBe(1);
    expect(buttonsOf(post).has('incident_mute_1h')).toBe(true);

    const stored = await getIncident(incident.id);
    expect(stored.acknowledgedBy).toEqual({ id: ALICE.id, name: 'alice' });
    expect(stored.mute).toBeUndefined();
    // No thread note for a click that changed nothing.
    expect(slack.replies(post.ts).map((r) => r.text)).toEqual(['Acknowledged', 'Muted', 'Unmuted']);
  });

  it('re-renders a click compact when Slack refuses the full message as too long', async () => {
    const { post } = await openIncident('long-svc');
    slack.failNext('chat.update', { error: 'msg_blocks_too_long' });

    expect((await interact(press(post, 'incident_ack'))).status).toBe(200);

    const updates = slack.calls.filter((c) => c.method === 'chat.update' && c.body.ts === post.ts);
    expect(updates.map((c) => c.outcome)).toEqual(['msg_blocks_too_long', 'ok']);
    expect(visibleText(post)).toContain('Acknowledged by *alice*');
    expect([...buttonsOf(post).keys()].filter((b) => b.startsWith('finding_'))).toEqual([]);
  });

  it('answers within Slack’s 3 seconds when Slack itself is slow to take the re-render', async () => {
    const { incident, post } = await openIncident('slow-svc');
    slack.failNext('chat.update', { delayMs: 5000 });
    slack.failNext('chat.postMessage', { delayMs: 5000 });
    const started = Date.now();

    const answer = await interact(press(post, 'incident_ack'));

    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await getIncident(incident.id)).acknowledgedBy).toEqual({ id: ALICE.id, name: 'alice' });
  });

  it('posts an incident Slack rate-limits more often than a job may be received, instead of parking it', async () => {
    const parked = async () => {
      const { Attributes: a = {} } = await stack.emulators.sqsClient.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.emulators.dlqUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      return Number(a.ApproximateNumberOfMessages);
    };
    const parkedBefore = await parked();
    const callsBefore = slack.calls.length;
    // Six refusals in a row: one more than the receives after which a failing job goes to the DLQ.
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 }, 6);

    await stack.api('/alerts', {
      body: webhook('throttled-svc', 'firing', 'f0000000000000a1', new Date().toISOString()),
    });
    await slack.waitFor(() => postsAbout('throttled-svc').length === 1, 30_000);

    expect(slack.calls.slice(callsBefore).filter((c) => c.outcome === 'http_429')).toHaveLength(6);
    expect(await parked()).toBe(parkedBefore);
  });

  it('sends each event exactly once through rate limits and a failed thread reply', async () => {
    const callsBefore = slack.calls.length;
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const { post, fingerprint, startsAt } = await openIncident('retry-svc');

    // The resolution's edit succeeds, its thread reply fails once: the retry must not post anew.
    slack.failNext('chat.postMessage', { status: 500 });
    await stack.api('/alerts', { body: webhook('retry-svc', 'resolved', fingerprint, startsAt) });
    await slack.waitFor(() => slack.replies(post.ts).length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 1500));

    expect(postsAbout('retry-svc')).toHaveLength(1);
    expect(slack.replies(post.ts)).toHaveLength(1);
    const refused = slack.calls.slice(callsBefore).filter((c) => c.outcome === 'http_429' || c.outcome === 'http_500');
    expect(refused).toHaveLength(2);
  });
});
