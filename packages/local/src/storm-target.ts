/** The whole pipeline in this process, as a storm target with a fake Slack counting notifications. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startLocalStack } from './stack.js';

export interface StormTarget {
  url: string;
  token: string;
  queueDepth(): Promise<number>;
  dlqDepth(): Promise<number>;
  /** "opened" notifications per incident id received by the fake Slack. */
  openedNotifications(): Map<string, number>;
  /** Every Slack message received. */
  slackMessages: number;
  stop(): Promise<void>;
}

/** A fake Slack webhook on 127.0.0.1 that answers 200 and counts "opened" messages per incident. */
async function startSlackCounter() {
  const opened = new Map<string, number>();
  let messages = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      messages += 1;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const message = JSON.parse(text) as { blocks?: { type: string; text?: { text?: string } }[] };
        const header = message.blocks?.find((b) => b.type === 'header')?.text?.text ?? '';
        const id = /incident `(inc-[0-9a-f]+)`/.exec(text)?.[1];
        if (id && !header.startsWith('✅')) opened.set(id, (opened.get(id) ?? 0) + 1);
      } catch {
        // Not JSON: counted as a message, not as a notification.
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/storm`,
    opened,
    messages: () => messages,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Starts the whole pipeline in this process with everything in memory, stdout sink quiet and a fake
 * Slack counting notifications. A short visibility timeout keeps a retried job within the storm's wait.
 */
export async function startStormTarget(options: { token?: string; port?: number } = {}): Promise<StormTarget> {
  const token = options.token ?? `storm-${Math.random().toString(36).slice(2, 12)}`;
  const slack = await startSlackCounter();
  const stack = await startLocalStack({
    port: options.port ?? 0,
    visibilityTimeoutSeconds: 10,
    env: {
      INCIDENT_PILOT_TOKEN: token,
      INCIDENT_PILOT_SLACK_WEBHOOK: slack.url,
      INCIDENT_PILOT_QUIET: '1',
      INCIDENT_PILOT_LOG_LEVEL: 'error',
    },
  }).catch(async (error) => {
    await slack.close();
    throw error;
  });
  const depth = async (queueUrl: string) => {
    const out = await stack.emulators.sqsClient.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };
  return {
    url: stack.url,
    token,
    queueDepth: () => depth(stack.queueUrl),
    dlqDepth: () => depth(stack.dlqUrl),
    openedNotifications: () => new Map(slack.opened),
    get slackMessages() {
      return slack.messages();
    },
    async stop() {
      await stack.stop();
      await slack.close();
    },
  };
}
