/**
 * The paging settings: what the environment schema refuses at start-up, and which sinks the worker
 * builds from them — locally from values, in AWS from Secrets Manager (a stub client stands in for it:
 * there is no emulator, and only its answers matter here).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';
import { createRoot } from '../../functions/lib/composition.js';
import { createDelivery } from '../../functions/lib/delivery.js';
import { parseEnv } from '../../functions/lib/env.js';

const BASE = {
  INCIDENT_PILOT_TABLE: 'data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incidents',
  INCIDENT_PILOT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
  INCIDENT_PILOT_QUIET: '1',
  AWS_REGION: 'us-east-1',
};
const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;

/** A Secrets Manager client answering from a map; a value that is an Error is thrown. */
function secretsStub(values: Record<string, string | Error>): SecretsManagerClient {
  return {
    async send(command: { input: { SecretId: string } }) {
      const value = values[command.input.SecretId];
      if (value instanceof Error) throw value;
      return { SecretString: value };
    },
  } as unknown as SecretsManagerClient;
}

function deliveryFor(env: Record<string, string>, secrets: Record<string, string | Error> = {}) {
  const lines: string[] = [];
  const root = createRoot(parseEnv({ ...BASE, ...env }), { secrets: secretsStub(secrets) });
  root.log = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  return { delivery: createDelivery(root), lines };
}

describe('paging settings', () => {
  describe('environment', () => {
    it('defaults to PagerDuty’s and Opsgenie’s public endpoints, everything off', () => {
      const env = parseEnv(BASE);

      expect(env).toMatchObject({
        INCIDENT_PILOT_PAGERDUTY_URL: 'https://events.pagerduty.com/v2/enqueue',
        INCIDENT_PILOT_OPSGENIE_URL: 'https://api.opsgenie.com',
        INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: false,
        INCIDENT_PILOT_WEBHOOK_URL: '',
      });
    });

    it.each([
      [
        { INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: 'k', INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: ARN('pd') },
        'INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: set either INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY or',
      ],
      [
        { INCIDENT_PILOT_OPSGENIE_API_KEY: 'k', INCIDENT_PILOT_OPSGENIE_SECRET_ARN: ARN('og') },
        'INCIDENT_PILOT_OPSGENIE_SECRET_ARN: set either',
      ],
      [
        { INCIDENT_PILOT_WEBHOOK_URL: 'https://hooks.example/ip' },
        'INCIDENT_PILOT_WEBHOOK_SECRET: is required with INCIDENT_PILOT_WEBHOOK_URL',
      ],
      [
        { INCIDENT_PILOT_WEBHOOK_URL: 'https://hooks.example/ip', INCIDENT_PILOT_WEBHOOK_SECRET: 'shh' },
        'INCIDENT_PILOT_WEBHOOK_SECRET: must be at least 32 characters',
      ],
      [{ INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: '1' }, 'INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: needs'],
      [
        { INCIDENT_PILOT_OPSGENIE_URL: 'api.eu.opsgenie.com' },
        'INCIDENT_PILOT_OPSGENIE_URL: is not a valid http(s) URL',
      ],
    ])('refuses a combination that cannot work, naming the variable (%j)', (env, message) => {
      expect(() => parseEnv({ ...BASE, ...env })).toThrow(message);
    });

    it('never echoes a bad URL (it may carry a token)', () => {
      let message = '';
      try {
        parseEnv({ ...BASE, INCIDENT_PILOT_WEBHOOK_URL: 'hooks/t0k3n', INCIDENT_PILOT_WEBHOOK_SECRET: 's' });
      } catch (error) {
        message = (error as Error).message;
      }

      expect(message).toContain('INCIDENT_PILOT_WEBHOOK_URL: is not a valid http(s) URL');
      expect(message).not.toContain('t0k3n');
    });
  });

  describe('worker sinks', () => {
    it('builds each paging sink from its local values', async () => {
      const { delivery } = deliveryFor({
        INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: 'R0123456789abcdef0123456789ABCDE',
        INCIDENT_PILOT_OPSGENIE_API_KEY: '3f0c1a52-7d4e-4b8f-9a61-2c5e8d7b9f10',
        INCIDENT_PILOT_WEBHOOK_URL: 'http://127.0.0.1:1/hook',
        INCIDENT_PILOT_WEBHOOK_SECRET: 'whsec-0123456789abcdef0123456789abcdef',
      });

      expect((await delivery.sinks()).map((s) => s.name)).toEqual(['pagerduty', 'opsgenie', 'webhook']);
    });

    it('keeps a sink off while its secret holds the stack’s placeholder, and says so once', async () => {
      const placeholder = '{"placeholder":"set me","nonce":"Abc123"}';
      const { delivery, lines } = deliveryFor(
        { INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: ARN('pd'), INCIDENT_PILOT_OPSGENIE_SECRET_ARN: ARN('og') },
        { [ARN('pd')]: placeholder, [ARN('og')]: '3f0c1a52-7d4e-4b8f-9a61-2c5e8d7b9f10' },
      );

      const first = await delivery.sinks();
      await delivery.sinks();

      expect(first.map((s) => s.name)).toEqual(['opsgenie']);
      expect(lines).toEqual(['PagerDuty is not configured: its secret does not hold a key yet']);
      expect(lines.join(' ')).not.toContain('Abc123');
    });

    it('fails only the sink whose secret cannot be read right now; the others are built', async () => {
      const { delivery } = deliveryFor(
        {
          INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: ARN('pd'),
          INCIDENT_PILOT_WEBHOOK_URL: 'http://127.0.0.1:1/hook',
          INCIDENT_PILOT_WEBHOOK_SECRET_ARN: ARN('hook'),
        },
        {
          [ARN('pd')]: Object.assign(new Error('throttled'), { name: 'ThrottlingException' }),
          [ARN('hook')]: 'whsec-0123456789abcdef0123456789abcdef',
        },
      );

      const sinks = await delivery.sinks();

      expect(sinks.map((s) => s.name)).toEqual(['pagerduty', 'webhook']);
      const pagerduty = sinks[0];
      await expect(pagerduty?.deliver({ type: 'opened', incident: {} as never })).rejects.toBeInstanceOf(
        TransientError,
      );
    });

    it('pages even when the Slack secrets cannot be read right now: only the Slack sinks fail', async () => {
      const throttled = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      const { delivery } = deliveryFor(
        {
          INCIDENT_PILOT_SLACK_SECRET_ARN: ARN('slack'),
          INCIDENT_PILOT_SLACK_BOT_SECRET_ARN: ARN('bot'),
          INCIDENT_PILOT_SLACK_CHANNEL: 'C0123456789',
          INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: 'R0123456789abcdef0123456789ABCDE',
        },
        { [ARN('slack')]: throttled, [ARN('bot')]: throttled },
      );

      const sinks = await delivery.sinks();

      expect(sinks.map((s) => s.name)).toEqual(['slack', 'slack-app', 'pagerduty']);
      for (const slack of sinks.slice(0, 2)) {
        await expect(slack.deliver({ type: 'opened', incident: {} as never })).rejects.toBeInstanceOf(TransientError);
      }
    });
  });
});
