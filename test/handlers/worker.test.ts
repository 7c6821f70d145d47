/**
 * The worker function around the core's job: the job counters of a whole invocation are written once,
 * a job a sink asks to come back later is queued anew instead of counting towards the dead-letter
 * queue's receives, and so is a job the invocation has no time left to start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ingestAlerts, parseAlertPayload, type Stats } from '@incident-pilot/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRoot, type Root } from '../../functions/lib/composition.js';
import { parseEnv } from '../../functions/lib/env.js';
import { JOB_BUDGET_MS, MAX_DEFERRALS, workerRoute } from '../../functions/worker.js';
import { freshTables, sqsEventOf, useEmulators } from '../helpers/emulators.js';
import { type SlackApiStandIn, startSlackApi } from '../helpers/slack-api.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

describe('worker function', () => {
  const emulators = useEmulators();
  let slack: SlackApiStandIn | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  async function rootWith(env: Record<string, string>, write?: (text: string) => void): Promise<Root> {
    const e = emulators();
    const tables = await freshTables(e);
    return createRoot(
      parseEnv({
        INCIDENT_PILOT_TABLE: tables.tableName,
        INCIDENT_PILOT_INCIDENTS_TABLE: tables.incidentsTableName,
        INCIDENT_PILOT_QUEUE_URL: e.queueUrl,
        ...env,
      }),
      { dynamo: e.dynamoClient, sqs: e.sqsClient, ...(write ? { write } : {}) },
    );
  }

  /** Ingests the fixtures and receives the jobs they queued. */
  async function jobsFor(root: Root, names: string[], expected: number): Promise<Message[]> {
    const receivedAt = new Date().toISOString();
    for (const name of names) await ingestAlerts(root, parseAlertPayload(fixture(name), receivedAt), receivedAt);
    return receive(expected);
  }

  /** Receives the queued jobs, waiting up to `waitSeconds` for them, and checks how many there are. */
  async function receive(expected: number, waitSeconds = 1): Promise<Message[]> {
    const e = emulators();
    const { Messages = [] } = await e.sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: e.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
    );
    expect(Messages).toHaveLength(expected);
    return Messages;
  }

  const eventOf = (messages: Message[]) => sqsEventOf(messages, emulators().queueArn);

  it('writes the notification counts of a whole batch once, and each incident counter through its sink', async () => {
    const printed: string[] = [];
    const root = await rootWith({}, (text) => void printed.push(text));
    const writes: Partial<Stats>[] = [];
    const addStats = root.store.addStats;
    root.store = {
      ...root.store,
      addStats(delta) {
        writes.push(delta);
        return addStats(delta);
      },
    };
    const messages = await jobsFor(
      root,
      ['firing-single-alert.json', 'firing-group-3-alerts.json', 'firing-group-grown-1-to-2-alerts.json'],
      3,
    );
    writes.length = 0;

    expect((await workerRoute(eventOf(messages), root)).batchItemFailures).toEqual([]);

    expect(printed).toHaveLength(3);
    const jobCounts = writes.filter((w) => w.notificationsSent !== undefined);
    expect(jobCounts).toEqual([expect.objectContaining({ notificationsSent: 3, notificationsFailed: 0 })]);
    expect(writes.filter((w) => w.incidentsOpened)).toHaveLength(3);
    expect(await root.store.getStats()).toMatchObject({ notificationsSent: 3, incidentsOpened: 3 });
  });

  it(`queues a job Slack rate-limits anew after its Retry-After, up to ${MAX_DEFERRALS} times, then fails it`, async () => {
    const api = await startSlackApi({ token: 'xoxb-test' });
    slack = api;
    const root = await rootWith({
      INCIDENT_PILOT_QUIET: '1',
      INCIDENT_PILOT_SLACK_BOT_TOKEN: 'xoxb-test',
      INCIDENT_PILOT_SLACK_CHANNEL: 'C0DEFAULT',
      INCIDENT_PILOT_SLACK_API_URL: api.url,
    });
    const [job] = await jobsFor(root, ['firing-single-alert.json'], 1);
    api.failNext('chat.postMessage', { status: 429, retryAfter: 1 });

    expect((await workerRoute(eventOf([job as Message]), root)).batchItemFailures).toEqual([]);

    // Done with, and back a second later as a new message that counts the deferral.
    const [again] = await receive(1, 5);
    expect(JSON.parse(again?.Body ?? '{}')).toMatchObject({ ...JSON.parse(job?.Body ?? '{}'), deferrals: 1 });
    expect(api.posts()).toHaveLength(0);

    // One deferred as often as it may be fails as any job does, towards the dead-letter queue.
    api.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const spent = {
      ...(again as Message),
      Body: JSON.stringify({ ...JSON.parse(again?.Body ?? '{}'), deferrals: MAX_DEFERRALS }),
    };
    expect((await workerRoute(eventOf([spent]), root)).batchItemFailures).toEqual([
      { itemIdentifier: spent.MessageId },
    ]);

    // The job comes back after the failed one's Retry-After and posts the incident, once.
    const [retried] = await receive(1, 5);
    expect((await workerRoute(eventOf([retried as Message]), root)).batchItemFailures).toEqual([]);
    expect(api.posts()).toHaveLength(1);
  });

  it('starts no job once the invocation has too little time left: it queues that job anew', async () => {
    const root = await rootWith({ INCIDENT_PILOT_QUIET: '1' });
    const messages = await jobsFor(
      root,
      ['firing-single-alert.json', 'firing-group-3-alerts.json', 'firing-group-grown-1-to-2-alerts.json'],
      3,
    );
    // Time enough for the first job only.
    const remaining = [JOB_BUDGET_MS + 5_000];

    expect(
      (await workerRoute(eventOf(messages), root, () => remaining.shift() ?? JOB_BUDGET_MS - 1)).batchItemFailures,
    ).toEqual([]);

    expect(await root.store.getStats()).toMatchObject({ incidentsOpened: 1 });
    const again = await receive(2);
    const groupOf = (m: Message) => JSON.parse(m.Body ?? '{}').groupId;
    expect(again.map(groupOf).sort()).toEqual(messages.slice(1).map(groupOf).sort());
    expect((await workerRoute(eventOf(again), root)).batchItemFailures).toEqual([]);
    expect(await root.store.getStats()).toMatchObject({ incidentsOpened: 3 });
  });

  it('fails a message that is not JSON without quoting it in its log line', async () => {
    const root = await rootWith({ INCIDENT_PILOT_QUIET: '1' });
    const [message] = await jobsFor(root, ['firing-single-alert.json'], 1);
    const garbled = { ...message, Body: '{"groupId": secret-token-1234' } as Message;
    const warn = vi.spyOn(root.log, 'warn');

    const { batchItemFailures } = await workerRoute(eventOf([garbled]), root);

    expect(batchItemFailures).toEqual([{ itemIdentifier: message?.MessageId }]);
    expect(warn).toHaveBeenCalledWith(
      'job failed; it will be retried',
      expect.objectContaining({ error: 'ValidationError: invalid job: (root): the message is not JSON' }),
    );
    expect(JSON.stringify(warn.mock.calls)).not.toContain('secret-token');
  });
});
