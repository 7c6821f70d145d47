/**
 * The Slack sink in app mode (bot token): one message per incident, edited in place. `opened` posts it
 * and records its `{channel, ts}` on the incident at once; `updated` and `resolved` edit it
 * (chat.update) and add a thread reply saying what changed. The worker's idempotency markers send each
 * event once; the recorded ref makes a retried `opened` edit the message instead of posting another.
 */
import type {
  EngineConfig,
  Incident,
  IncidentEvent,
  IncidentRepository,
  Sink,
  SlackMessageRef,
} from '@incident-pilot/core';
import type { ChannelPacer, SlackApi } from './slack-api.js';
import { SlackApiError } from './slack-api.js';
import { type AppMessage, resolvedReply, sendAppMessage, updateReply } from './slack-app-message.js';

export interface SlackAppSinkOptions {
  api: SlackApi;
  /** Reads the incident's current state and records where its message is. */
  store: Pick<IncidentRepository, 'getIncident' | 'patchIncident'>;
  /** `INCIDENT_PILOT_SLACK_CHANNEL`: where incidents go unless `channels` routes them elsewhere. */
  defaultChannel: string;
  /** Per-service and per-team channels (engine config `slack.channels`). */
  channels?: EngineConfig['slack']['channels'];
  /** Spaces posts to one channel about a second apart (shared by every sink of the process). */
  pace: ChannelPacer;
  publicUrl?: string;
  now?: () => number;
  /** Stable sink name (part of the notification idempotency key). */
  name?: string;
}

/** The channel for a new incident message: its service's, else its team's, else the default. */
export function channelFor(
  incident: Pick<Incident, 'service' | 'team'>,
  defaultChannel: string,
  channels?: EngineConfig['slack']['channels'],
): string {
  return channels?.byService[incident.service] ?? channels?.byTeam[incident.team] ?? defaultChannel;
}

const RECORD_ATTEMPTS = 5;

/**
 * chat.update's answers for a message that cannot be edited where it is: deleted, in a channel that was
 * archived (`is_inactive`), deleted or left by the bot, or no longer the bot's to edit. A fresh post goes
 * where the incident routes now, so rerouting the channel mends open incidents too; if that channel is
 * the same dead one, the post fails loudly with the fix.
 */
const REPOST_ON = new Set([
  'message_not_found',
  'is_inactive',
  'is_archived',
  'channel_not_found',
  'not_in_channel',
  'cant_update_message',
  'edit_window_closed',
]);

export function createSlackAppSink({
  api,
  store,
  defaultChannel,
  channels,
  pace,
  publicUrl,
  now = Date.now,
  name = 'slack-app',
}: SlackAppSinkOptions): Sink {
  const send = <T>(incident: Incident, call: (message: AppMessage) => Promise<T>) =>
    sendAppMessage(incident, { publicUrl, nowMs: now() }, call);

  /** Posts to the channel (or the thread `threadTs`), waiting for its turn unless it was `paced` already. */
  async function post(
    channel: string,
    message: AppMessage,
    threadTs?: string,
    paced = false,
  ): Promise<SlackMessageRef> {
    if (!paced) await pace(channel);
    const answer = await api.call('chat.postMessage', {
      channel,
      ...message,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    if (!answer.ts) throw new SlackApiError('chat.postMessage', 'answer_without_ts');
    // Slack answers with the channel's id, also when it was addressed by name.
    return { channel: answer.channel || channel, ts: answer.ts };
  }

  /** Records the ref right after posting, trying hard: a lost ref would mean a second message on retry. */
  async function record(incident: Incident, ref: SlackMessageRef): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await store.patchIncident(incident.id, { slack: ref });
        return;
      } catch (error) {
        if (attempt + 1 >= RECORD_ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  /** Edits the incident's message; posts (and records) a new one when it has none or it cannot be edited. */
  async function show(incident: Incident): Promise<SlackMessageRef> {
    const { slack } = incident;
    if (slack) {
      try {
        await send(incident, (message) =>
          api.call('chat.update', { channel: slack.channel, ts: slack.ts, ...message }),
        );
        return slack;
      } catch (error) {
        if (!(error instanceof SlackApiError && REPOST_ON.has(error.code))) throw error;
      }
    }
    const channel = channelFor(incident, defaultChannel, channels);
    await pace(channel);
    const ref = await send(incident, (message) => post(channel, message, undefined, true));
    await record(incident, ref);
    return ref;
  }

  return {
    name,
    async deliver(event: IncidentEvent) {
      // The stored incident: the freshest state to render, and its message ref if an earlier try posted.
      const read = async () => (await store.getIncident(event.incident.id)) ?? event.incident;
      let incident = await read();
      const reply =
        event.type === 'updated'
          ? updateReply(event.changes ?? [])
          : event.type === 'resolved'
            ? resolvedReply(incident)
            : undefined;
      // The reply's turn in the channel comes first: a channel too busy to take it now sends the event
      // back to the queue before the message is edited, not after (the retry would edit it again).
      const pacedIn = reply ? incident.slack?.channel : undefined;
      // Read again after a wait (up to seconds): an edit of the state before it would undo what was done
      // from Slack meanwhile (an acknowledgement, a mute), which the message already shows.
      if (pacedIn && (await pace(pacedIn)) > 0) incident = await read();
      const ref = await show(incident);
      if (reply) await post(ref.channel, reply, ref.ts, ref.channel === pacedIn);
    },
  };
}
