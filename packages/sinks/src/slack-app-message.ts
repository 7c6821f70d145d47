/**
 * Slack app mode, the message side: the incident's one message (its current state, with buttons), the
 * thread replies, the resolve modal, and the parser of what Slack sends back when a button is pressed.
 * Pure functions shared by the worker's sink and the interactions function. Buttons carry only ids
 * (incident, rule) in `value`; people's text only ever arrives through the signed modal submission.
 */
import {
  type Actor,
  compareFindings,
  type Finding,
  type Incident,
  type IncidentChange,
  isMuted,
  type Vote,
} from '@incident-pilot/core';
import * as z from 'zod/mini';
import { defuseBareMentions, escapeSlackText, oneLine, SLACK_LIMITS, slackCode } from './escape.js';
import { SlackApiError } from './slack-api.js';
import {
  alertsBlock,
  type ButtonElement,
  contextBlock,
  fallbackText,
  findingsBlocks,
  header,
  MAX_FINDINGS,
  noteLines,
  plain,
  resolutionLine,
  SEVERITY_EMOJI,
  type SlackBlock,
  section,
  summaryFields,
} from './slack-blocks.js';

/** Mute choices offered on the message, in hours. */
export const MUTE_HOURS = [1, 4, 24] as const;

/** `action_id`s of the buttons; Slack requires them unique within a message. */
export const ACTIONS = {
  acknowledge: 'incident_ack',
  resolve: 'incident_resolve',
  mute: (hours: number) => `incident_mute_${hours}h`,
  unmute: 'incident_unmute',
  vote: (vote: Vote, rank: number) => `finding_${vote}_${rank}`,
} as const;

/** The resolve modal's `callback_id` and its note input. */
export const RESOLVE_VIEW = { callbackId: 'incident_resolve', noteBlock: 'note', noteAction: 'note' } as const;
const NOTE_MAX = 1000;

/** What a chat.postMessage / chat.update body holds besides `channel` and `ts`. */
export interface AppMessage {
  text: string;
  blocks: SlackBlock[];
  unfurl_links: false;
  unfurl_media: false;
}

export interface AppMessageOptions {
  /** `INCIDENT_PILOT_PUBLIC_URL`: adds a link to the incident. */
  publicUrl?: string;
  /** Whether a mute is still running is decided against this clock. */
  nowMs: number;
  /** One line per finding, no alerts, evidence or votes: for when Slack refuses the full message. */
  compact?: boolean;
}

/**
 * A button value or modal metadata: JSON with `<`, `>` and `&` as `\u` escapes, so not even an
 * identifier carries a character Slack could read as markup (JSON.parse restores them).
 */
export function encodeValue(value: Record<string, string>): string {
  return JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const button = (text: string, action_id: string, value: string, style?: 'primary' | 'danger'): ButtonElement => ({
  type: 'button',
  text: { type: 'plain_text', text, emoji: true },
  action_id,
  value,
  ...(style ? { style } : {}),
});

/** The person's name, escaped (no mention: an action should not ping anyone). */
export function who(actor: Actor): string {
  return `*${plain(actor.name, 200)}*`;
}

function statusLines(incident: Incident, nowMs: number): string[] {
  if (incident.status === 'resolved') {
    const line = resolutionLine(incident);
    return [`✅ ${line.charAt(0).toUpperCase()}${line.slice(1)}`, ...noteLines(incident)];
  }
  const lines = [`*Open* since ${plain(incident.openedAt, 64)}`];
  if (incident.acknowledgedBy) {
    lines.push(`👀 Acknowledged by ${who(incident.acknowledgedBy)} at ${plain(incident.acknowledgedAt ?? '', 64)}`);
  }
  if (incident.mute && isMuted(incident, nowMs)) {
    lines.push(`🔕 Notifications muted until ${plain(incident.mute.until, 64)} by ${who(incident.mute.by)}`);
  }
  return lines;
}

function voteButtons(incident: Incident): (finding: Finding) => SlackBlock[] {
  let rank = 0;
  return (finding) => {
    rank += 1;
    const value = encodeValue({ incidentId: incident.id, ruleId: finding.ruleId });
    return [
      {
        type: 'actions',
        elements: [
          button('👍 Useful', ACTIONS.vote('up', rank), value),
          button('👎 Not useful', ACTIONS.vote('down', rank), value),
        ],
      },
    ];
  };
}

function incidentButtons(incident: Incident, nowMs: number): SlackBlock[] {
  if (incident.status !== 'open') return [];
  const value = encodeValue({ incidentId: incident.id });
  const elements: ButtonElement[] = [];
  if (!incident.acknowledgedBy) elements.push(button('Acknowledge', ACTIONS.acknowledge, value, 'primary'));
  elements.push(button('Resolve…', ACTIONS.resolve, value));
  if (isMuted(incident, nowMs)) elements.push(button('🔔 Unmute', ACTIONS.unmute, value));
  else for (const hours of MUTE_HOURS) elements.push(button(`🔕 Mute ${hours}h`, ACTIONS.mute(hours), value));
  return [{ type: 'actions', elements }];
}

/** The incident's one message, rendered from its current state (chat.postMessage and chat.update). */
export function buildAppMessage(incident: Incident, { publicUrl, nowMs, compact }: AppMessageOptions): AppMessage {
  const resolved = incident.status === 'resolved';
  const blocks: SlackBlock[] = [
    resolved
      ? header('✅ Resolved: ', incident.title || incident.alertname)
      : header(`${SEVERITY_EMOJI[incident.severity]} `, incident.title || incident.alertname),
    section(statusLines(incident, nowMs)),
    summaryFields(incident),
  ];
  if (compact) blocks.push({ type: 'divider' }, findingLines(incident));
  else {
    if (incident.alerts.length > 0) blocks.push(alertsBlock(incident.alerts));
    blocks.push({ type: 'divider' }, ...findingsBlocks(incident, voteButtons(incident)));
  }
  blocks.push(...incidentButtons(incident, nowMs));
  const when = resolved
    ? `opened ${plain(incident.openedAt, 64)} · resolved ${plain(incident.resolvedAt ?? incident.lastSeenAt, 64)}`
    : `opened ${plain(incident.openedAt, 64)}`;
  blocks.push(contextBlock(incident, when, publicUrl));
  return {
    text: fallbackText(incident, resolved ? 'resolved' : 'opened'),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
    unfurl_links: false,
    unfurl_media: false,
  };
}

/**
 * Slack's answers to a message it will not take as rendered: too long (`msg_blocks_too_long` comes well
 * below the documented block limits) or blocks it refuses. The compact rendering goes instead, so the
 * incident is still shown; if Slack refuses that too, the error stands.
 */
const REFUSED_AS_RENDERED = new Set(['msg_blocks_too_long', 'msg_too_long', 'invalid_blocks']);

/** Sends the incident's message through `call` as rendered, and compact if Slack refuses it as rendered. */
export async function sendAppMessage<T>(
  incident: Incident,
  options: AppMessageOptions,
  call: (message: AppMessage) => Promise<T>,
): Promise<T> {
  try {
    return await call(buildAppMessage(incident, options));
  } catch (error) {
    if (!(error instanceof SlackApiError && REFUSED_AS_RENDERED.has(error.code))) throw error;
    return call(buildAppMessage(incident, { ...options, compact: true }));
  }
}

/** The compact message's findings: one line each, most severe first, and where to read them whole. */
function findingLines(incident: Incident): SlackBlock {
  const findings = [...incident.findings].sort(compareFindings).slice(0, MAX_FINDINGS);
  return section([
    `*Findings* (${incident.findings.length}; evidence: ${slackCode(`GET /api/incidents/${encodeURIComponent(incident.id)}`, 400)})`,
    ...findings.map((f, i) => `${i + 1}. ${SEVERITY_EMOJI[f.severity]} ${plain(f.summary, 300)}`),
  ]);
}

const MAX_CHANGE_LINES = 20;

function reply(lines: string[], fallback: string): AppMessage {
  return {
    text: escapeSlackText(defuseBareMentions(oneLine(fallback)), 300),
    blocks: [section(lines)],
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** The thread reply for an `updated` event: what changed, one line each. */
export function updateReply(changes: readonly IncidentChange[]): AppMessage {
  const lines = ['*Updated:*', ...changes.slice(0, MAX_CHANGE_LINES).map((c) => `• ${plain(c.summary, 500)}`)];
  if (changes.length > MAX_CHANGE_LINES) lines.push(`…and ${changes.length - MAX_CHANGE_LINES} more`);
  if (changes.length === 0) lines.push('• the incident changed');
  return reply(lines, `Updated: ${changes.map((c) => c.summary).join('; ') || 'the incident changed'}`);
}

/** The thread reply for the resolution: how, by whom, after how long, and the note. */
export function resolvedReply(incident: Incident): AppMessage {
  const line = resolutionLine(incident);
  return reply([`✅ ${line.charAt(0).toUpperCase()}${line.slice(1)}`, ...noteLines(incident)], 'Resolved');
}

/** The thread reply for a person's action from Slack. */
export function actionReply(action: 'acknowledged' | 'muted' | 'unmuted', incident: Incident, by: Actor): AppMessage {
  const text =
    action === 'acknowledged'
      ? `👀 Acknowledged by ${who(by)}`
      : action === 'muted'
        ? `🔕 Notifications muted until ${plain(incident.mute?.until ?? '', 64)} by ${who(by)}`
        : `🔔 Notifications unmuted by ${who(by)}`;
  return reply([text], action.charAt(0).toUpperCase() + action.slice(1));
}

/** The `view` of views.open for the Resolve button. */
export function resolveModal(incident: Incident) {
  return {
    type: 'modal',
    callback_id: RESOLVE_VIEW.callbackId,
    private_metadata: encodeValue({ incidentId: incident.id }),
    title: { type: 'plain_text', text: 'Resolve incident' },
    submit: { type: 'plain_text', text: 'Resolve' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section([`Resolve *${plain(incident.title || incident.alertname, 500)}* by hand?`]),
      {
        type: 'input',
        block_id: RESOLVE_VIEW.noteBlock,
        optional: true,
        label: { type: 'plain_text', text: 'Resolution note' },
        element: {
          type: 'plain_text_input',
          action_id: RESOLVE_VIEW.noteAction,
          multiline: true,
          max_length: NOTE_MAX,
        },
      },
    ],
  };
}

// --- What Slack sends back ---------------------------------------------------------------------------

/** A parsed interaction: one thing to do, or nothing (a button of no interest, an unknown payload). */
export type Interaction =
  | { kind: 'acknowledge' | 'unmute' | 'open_resolve'; incidentId: string; user: Actor; triggerId?: string }
  | { kind: 'mute'; incidentId: string; user: Actor; hours: number }
  /** `at`: when the button was pressed (Slack's `action_ts`), so a later click wins over an earlier one handled late. */
  | { kind: 'vote'; incidentId: string; ruleId: string; vote: Vote; user: Actor; at?: string }
  | { kind: 'resolve'; incidentId: string; user: Actor; note?: string }
  | { kind: 'ignored'; reason: string };

/** A string of at most `max` characters (and at least `min`). */
const text = (max: number, min = 0) => z.string().check(...(min > 0 ? [z.minLength(min)] : []), z.maxLength(max));
const id = text(256, 1);
const userSchema = z.object({
  id: text(64, 1),
  username: z.optional(text(200)),
  name: z.optional(text(200)),
});
const blockActions = z.object({
  type: z.literal('block_actions'),
  user: userSchema,
  trigger_id: z.optional(text(256)),
  actions: z
    .array(z.object({ action_id: text(255), value: z.optional(text(2000)), action_ts: z.optional(z.unknown()) }))
    .check(z.minLength(1)),
});
const viewSubmission = z.object({
  type: z.literal('view_submission'),
  user: userSchema,
  view: z.object({
    callback_id: z.string(),
    private_metadata: text(3000),
    state: z.optional(
      z.object({
        values: z.record(z.string(), z.record(z.string(), z.looseObject({ value: z.nullish(z.string()) }))),
      }),
    ),
  }),
});
const voteValue = z.object({ incidentId: id, ruleId: id });
const incidentValue = z.object({ incidentId: id });

const actorOf = (user: z.infer<typeof userSchema>): Actor => ({
  id: user.id,
  name: user.name || user.username || user.id,
});

function parseJson<T>(schema: z.ZodMiniType<T>, text: string | undefined): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Slack's `action_ts` (epoch seconds with microseconds, `"1732510800.123456"`) as an ISO time, when it is one. */
function clickedAt(actionTs: unknown): { at?: string } {
  // Read only when it is as Slack sends it: anything else dates the vote on arrival, never drops the click.
  const ms =
    typeof actionTs === 'string' && /^\d{9,11}(\.\d{1,6})?$/.test(actionTs) ? Number(actionTs) * 1000 : Number.NaN;
  return Number.isFinite(ms) ? { at: new Date(ms).toISOString() } : {};
}

/** Turns Slack's `payload` (already signature-checked) into the action it asks for. */
export function parseInteraction(payload: unknown): Interaction {
  const type = (payload as { type?: unknown } | null)?.type;
  if (type === 'block_actions') {
    const parsed = blockActions.safeParse(payload);
    if (!parsed.success) return { kind: 'ignored', reason: 'malformed block_actions payload' };
    const { user, trigger_id, actions } = parsed.data;
    const [{ action_id, value, action_ts } = { action_id: '' }] = actions;
    const who = actorOf(user);
    const vote = /^finding_(up|down)_\d+$/.exec(action_id);
    if (vote) {
      const target = parseJson(voteValue, value);
      return target
        ? { kind: 'vote', ...target, vote: vote[1] as Vote, user: who, ...clickedAt(action_ts) }
        : { kind: 'ignored', reason: 'malformed vote' };
    }
    // Our buttons carry encoded JSON; a bare incident id is accepted too.
    const bare = id.safeParse(value);
    const target = parseJson(incidentValue, value) ?? (bare.success ? { incidentId: bare.data } : undefined);
    if (!target) return { kind: 'ignored', reason: `no incident on ${action_id}` };
    const mute = /^incident_mute_(\d+)h$/.exec(action_id);
    if (mute && (MUTE_HOURS as readonly number[]).includes(Number(mute[1]))) {
      return { kind: 'mute', incidentId: target.incidentId, user: who, hours: Number(mute[1]) };
    }
    const kind = (
      {
        [ACTIONS.acknowledge]: 'acknowledge',
        [ACTIONS.unmute]: 'unmute',
        [ACTIONS.resolve]: 'open_resolve',
      } as const
    )[action_id];
    if (!kind) return { kind: 'ignored', reason: `unknown action ${action_id}` };
    return { kind, incidentId: target.incidentId, user: who, ...(trigger_id ? { triggerId: trigger_id } : {}) };
  }
  if (type === 'view_submission') {
    const parsed = viewSubmission.safeParse(payload);
    if (!parsed.success || parsed.data.view.callback_id !== RESOLVE_VIEW.callbackId) {
      return { kind: 'ignored', reason: 'not the resolve modal' };
    }
    const { view, user } = parsed.data;
    const target = parseJson(incidentValue, view.private_metadata);
    if (!target) return { kind: 'ignored', reason: 'malformed modal metadata' };
    const note = view.state?.values[RESOLVE_VIEW.noteBlock]?.[RESOLVE_VIEW.noteAction]?.value
      ?.trim()
      .slice(0, NOTE_MAX);
    return { kind: 'resolve', incidentId: target.incidentId, user: actorOf(user), ...(note ? { note } : {}) };
  }
  return { kind: 'ignored', reason: `interaction type ${String(type)}` };
}
