/**
 * The worker's job counters: one write per invocation, holding the sums of all its jobs, instead of one
 * per job. The incident counters stay a sink of their own, written before its marker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ingestAlerts, parseAlertPayload, type Stats } from '@incident-pilot/core';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createRoot } from '../../functions/lib/composition.js';
import { parseEnv } from '../../functions/lib/env.js';
import { workerRoute } from '../../functions/worker.js';
import { freshTables, useEmulators } from '../helpers/emulators.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

describe('worker counters', () => {
  const emulators = useEmulators();

  it('writes the notification counts of a whole batch once, and each incident counter through its sink', async () => {
    const e = emulators();
    const tables = await freshTables(e);
    const printed: string[] = [];
    const root = createRoot(
      parseEnv({
        INCIDENT_PILOT_TABLE: tables.tableName,
        INCIDENT_PILOT_INCIDENTS_TABLE: tables.incidentsTableName,
        INCIDENT_PILOT_QUEUE_URL: e.queueUrl,
      }),
      { dynamo: e.dynamoClient, sqs: e.sqsClient, write: (text) => void printed.push(text) },
    );
    const writes: Partial<Stats>[] = [];
    const addStats = root.store.addStats;
    root.store = {
      ...root.store,
      addStats(delta) {
        writes.push(delta);
        return addStats(delta);
      },
    };
    const receivedAt = new Date().toISOString();
    for (const name of [
      'firing-single-alert.json',
      'firing-group-3-alerts.json',
      'firing-group-grown-1-to-2-alerts.json',
    ]) {
      await ingestAlerts(root, parseAlertPayload(fixture(name), receivedAt), receivedAt);
    }
    const { Messages = [] } = await e.sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: e.queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'] }),
    );
    expect(Messages).toHaveLength(3);
    writes.length = 0;

    const event: SQSEvent = {
      Records: Messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: { ApproximateReceiveCount: '1' } as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: e.queueArn,
        awsRegion: 'us-east-1',
      })),
    };
    expect((await workerRoute(event, root)).batchItemFailures).toEqual([]);

    expect(printed).toHaveLength(3);
    const jobCounts = writes.filter((w) => w.notificationsSent !== undefined);
    expect(jobCounts).toEqual([expect.objectContaining({ notificationsSent: 3, notificationsFailed: 0 })]);
    expect(writes.filter((w) => w.incidentsOpened)).toHaveLength(3);
    expect(await root.store.getStats()).toMatchObject({ notificationsSent: 3, incidentsOpened: 3 });
  });
});
