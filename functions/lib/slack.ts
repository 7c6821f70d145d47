/**
 * Slack app settings shared by the worker (delivery.ts) and the interactions function: the bot token
 * and the signing secret, from env values locally or Secrets Manager in AWS.
 */
import { createSlackApi, type SlackApi } from '@incident-pilot/sinks/slack-api';
import type { Root } from './composition.js';

/** True when app mode is configured: a channel and a bot token (or its secret). */
export function slackAppEnabled(root: Root): boolean {
  const { env } = root;
  return Boolean(
    env.INCIDENT_PILOT_SLACK_CHANNEL && (env.INCIDENT_PILOT_SLACK_BOT_TOKEN || env.INCIDENT_PILOT_SLACK_BOT_SECRET_ARN),
  );
}

/**
 * The bot token; '' while the AWS secret still holds the stack's placeholder (a real one starts with
 * `xox`), which leaves app mode off.
 */
export async function slackBotToken(root: Root): Promise<string> {
  const { env } = root;
  if (!env.INCIDENT_PILOT_SLACK_BOT_SECRET_ARN) return env.INCIDENT_PILOT_SLACK_BOT_TOKEN;
  const token = await root.secret(env.INCIDENT_PILOT_SLACK_BOT_SECRET_ARN);
  return token.startsWith('xox') ? token : '';
}

export async function slackSigningSecret(root: Root): Promise<string> {
  const { env } = root;
  return env.INCIDENT_PILOT_SLACK_SIGNING_SECRET_ARN
    ? root.secret(env.INCIDENT_PILOT_SLACK_SIGNING_SECRET_ARN)
    : env.INCIDENT_PILOT_SLACK_SIGNING_SECRET;
}

/** A Web API client with the bot token; `timeoutMs` short for calls made while Slack waits on us. */
export function slackApiOf(root: Root, timeoutMs: number): SlackApi {
  return createSlackApi({
    token: () => slackBotToken(root),
    apiUrl: root.env.INCIDENT_PILOT_SLACK_API_URL,
    fetch: root.overrides.fetch ?? globalThis.fetch,
    timeoutMs,
  });
}
