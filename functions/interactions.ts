/**
 * `POST /slack/interactions`: Slack's interactivity request URL. Every request is signature-checked
 * (401 and no change otherwise); the answer comes well within Slack's 3 seconds: the change is written,
 * a job is queued when the sinks must hear of it, and the message is re-rendered best-effort with
 * short timeouts (the worker re-renders it anyway on its next event).
 */
import {
  acknowledgeIncident,
  groupIdOf,
  type Incident,
  muteIncident,
  narrate,
  resolveIncident,
  unmuteIncident,
  ValidationError,
} from '@incident-pilot/core';
import {
  type AppMessage,
  actionReply,
  parseInteraction,
  resolveModal,
  sendAppMessage,
} from '@incident-pilot/sinks/slack-app-message';
import type { Root } from './lib/composition.js';
import { type HttpRequest, type HttpResult, httpHandler } from './lib/http.js';
import { slackApiOf, slackAppEnabled, slackSigningSecret } from './lib/slack.js';
import { verifySlackSignature } from './lib/slack-signature.js';

/** Per Slack call made while Slack waits for our answer (3 s in all). */
const SLACK_CALL_TIMEOUT_MS = 1200;

const ok = (): HttpResult => ({ statusCode: 200, body: '' });

function payloadOf(raw: Buffer): unknown {
  const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (!payload)
    throw new ValidationError([{ path: 'payload', message: 'missing (expected a form field with JSON)' }], 'body');
  try {
    return JSON.parse(payload);
  } catch {
    throw new ValidationError([{ path: 'payload', message: 'is not valid JSON' }], 'body');
  }
}

const enqueue = (root: Root, incident: Incident, at: string) =>
  root.queue.enqueue({ groupId: groupIdOf(incident.groupKey), enqueuedAt: at });

/**
 * Edits the incident's message to its current state and, with a note, says so in its thread; never
 * throws. Done for a click that changed nothing too: its button was pressed on a stale message (the
 * incident resolved since and the worker's edit not through yet — rate-limited, retrying — or the action
 * taken already and that click's re-render failed), and the person must see why, not a click that does
 * nothing.
 */
async function refresh(root: Root, incident: Incident, note?: AppMessage): Promise<void> {
  if (!incident.slack || !slackAppEnabled(root)) return;
  const api = slackApiOf(root, SLACK_CALL_TIMEOUT_MS);
  const { channel, ts } = incident.slack;
  const options = { publicUrl: root.env.INCIDENT_PILOT_PUBLIC_URL || undefined, nowMs: root.now() };
  const results = await Promise.allSettled([
    sendAppMessage(incident, options, (message) => api.call('chat.update', { channel, ts, ...message })),
    ...(note ? [api.call('chat.postMessage', { channel, thread_ts: ts, ...note })] : []),
  ]);
  for (const r of results) {
    if (r.status === 'rejected') {
      root.log.warn('Slack message not refreshed', { incidentId: incident.id, error: String(r.reason) });
    }
  }
}

export async function interactionsRoute({ event, root, body, receivedAt }: HttpRequest): Promise<HttpResult> {
  const raw = body as Buffer;
  verifySlackSignature({
    secret: await slackSigningSecret(root),
    rawBody: raw,
    timestamp: event.headers?.['x-slack-request-timestamp'],
    signature: event.headers?.['x-slack-signature'],
    nowMs: root.now(),
  });
  const action = parseInteraction(payloadOf(raw));
  switch (action.kind) {
    case 'ignored':
      root.log.info('Slack interaction ignored', { reason: action.reason });
      return ok();
    case 'acknowledge': {
      const { incident, changed } = await acknowledgeIncident(root.store, action.incidentId, action.user, receivedAt);
      await refresh(root, incident, changed ? actionReply('acknowledged', incident, action.user) : undefined);
      return ok();
    }
    case 'mute': {
      const until = new Date(root.now() + action.hours * 3_600_000).toISOString();
      const { incident, changed } = await muteIncident(root.store, action.incidentId, action.user, until, receivedAt);
      await refresh(root, incident, changed ? actionReply('muted', incident, action.user) : undefined);
      return ok();
    }
    case 'unmute': {
      const { incident, changed } = await unmuteIncident(root.store, action.incidentId, action.user, receivedAt);
      // Notifications held during the mute go out with this job. Queued on a repeated click too: the
      // first one's enqueue may have failed after the unmute was stored (the markers make it idempotent).
      await enqueue(root, incident, receivedAt);
      await refresh(root, incident, changed ? actionReply('unmuted', incident, action.user) : undefined);
      return ok();
    }
    case 'open_resolve': {
      const incident = await root.store.getIncident(action.incidentId);
      // Pressed on the message of an incident resolved since: re-rendered instead of a modal.
      if (incident && incident.status !== 'open') await refresh(root, incident);
      if (incident?.status !== 'open' || !action.triggerId || !slackAppEnabled(root)) return ok();
      // The trigger id expires 3 s after the click: open the modal now, not after answering.
      await slackApiOf(root, 2000)
        .call('views.open', { trigger_id: action.triggerId, view: resolveModal(incident) })
        .catch((error) =>
          root.log.warn('resolve dialog not opened', { incidentId: incident.id, error: String(error) }),
        );
      return ok();
    }
    case 'resolve': {
      const { incident } = await resolveIncident({ store: root.store, narrate }, action.incidentId, receivedAt, {
        by: action.user,
        ...(action.note ? { note: action.note } : {}),
      });
      // The worker announces the resolution (message, thread, other sinks), exactly once per sink.
      // Queued on a repeated submission too: the first one's enqueue may have failed after the resolve
      // was stored (Slack then shows an error and the person submits again).
      await enqueue(root, incident, receivedAt);
      return ok(); // an empty 200 closes the modal
    }
    case 'vote':
      await root.store.vote({
        incidentId: action.incidentId,
        ruleId: action.ruleId,
        userId: action.user.id,
        vote: action.vote,
        at: action.at ?? receivedAt,
      });
      return ok();
  }
}

export const handler = httpHandler(interactionsRoute, { open: () => true, raw: true });
