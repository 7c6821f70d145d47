import { describe, expect, it } from 'vitest';
import { createRoot } from '../../functions/lib/composition.js';
import { parseEnv } from '../../functions/lib/env.js';
import { slackAppEnabled, slackBotToken } from '../../functions/lib/slack.js';

const BASE = {
  INCIDENT_PILOT_TABLE: 'data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incidents',
  INCIDENT_PILOT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
};

describe('Slack app configuration', () => {
  it('names the missing variable when a bot token comes without a channel, or a channel without a token', () => {
    expect(() => parseEnv({ ...BASE, INCIDENT_PILOT_SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(
      /INCIDENT_PILOT_SLACK_CHANNEL: is required with INCIDENT_PILOT_SLACK_BOT_TOKEN/,
    );
    expect(() => parseEnv({ ...BASE, INCIDENT_PILOT_SLACK_CHANNEL: 'C0123' })).toThrow(
      /INCIDENT_PILOT_SLACK_BOT_TOKEN: is required with INCIDENT_PILOT_SLACK_CHANNEL/,
    );
    expect(() => parseEnv({ ...BASE, INCIDENT_PILOT_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(
      /INCIDENT_PILOT_PUBLIC_URL/,
    );
  });

  it('defaults the Web API to slack.com and accepts another one', () => {
    expect(parseEnv(BASE).INCIDENT_PILOT_SLACK_API_URL).toBe('https://slack.com/api');
    expect(
      parseEnv({ ...BASE, INCIDENT_PILOT_SLACK_API_URL: 'http://127.0.0.1:8080/api' }).INCIDENT_PILOT_SLACK_API_URL,
    ).toBe('http://127.0.0.1:8080/api');
  });

  it('stays off in AWS while the bot-token secret holds its placeholder, and turns on with a real token', async () => {
    const env = parseEnv({
      ...BASE,
      INCIDENT_PILOT_SLACK_CHANNEL: 'C0123',
      INCIDENT_PILOT_SLACK_BOT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:bot',
    });
    const rootWith = (value: string) => ({ ...createRoot(env), secret: async () => value });

    expect(slackAppEnabled(rootWith('x'))).toBe(true);
    expect(await slackBotToken(rootWith('Qm9yaW5nUGxhY2Vob2xkZXIx'))).toBe('');
    expect(await slackBotToken(rootWith('xoxb-real-token'))).toBe('xoxb-real-token');
    expect(slackAppEnabled(createRoot(parseEnv(BASE)))).toBe(false);
  });
});
