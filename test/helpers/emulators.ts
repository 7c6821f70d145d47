/**
 * Real DynamoDB (dynalite) and SQS (fauxqs) for integration tests, in-process on random ports.
 *
 * ```ts
 * const emulators = useEmulators();            // at file or describe level: starts once, stops after
 * it('stores an incident', async () => {
 *   const { dynamoClient, tableName, incidentsTableName } = emulators();
 *   const tables = await freshTables(emulators()); // optional: empty tables of your own
 * });
 * ```
 *
 * Tests in one file share the emulators and the default tables, so give every test its own ids
 * (`uniqueId()`), or its own tables (`freshTables()`) when it counts or lists everything.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import type { TableNames } from '@incident-pilot/aws';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll } from 'vitest';
import {
  type EmulatorOptions,
  type Emulators,
  ensureTables,
  startEmulators,
} from '../../packages/local/src/emulators.js';

/** Starts the emulators in `beforeAll` and stops them in `afterAll`; call the returned getter inside tests. */
export function useEmulators(options: EmulatorOptions = {}): () => Emulators {
  let emulators: Emulators | undefined;
  beforeAll(async () => {
    emulators = await startEmulators(options);
  });
  afterAll(async () => {
    await emulators?.stop();
  });
  return () => {
    if (!emulators) throw new Error('useEmulators(): the emulators start in beforeAll; call the getter inside a test');
    return emulators;
  };
}

/** A short id no other test uses, e.g. `grp-3f9a1c2e`. */
export function uniqueId(prefix = 'id'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates a new, empty pair of tables (same design as the stack's) on the running dynalite. */
export async function freshTables(emulators: Emulators): Promise<TableNames> {
  const suffix = randomUUID().slice(0, 8);
  const names = { tableName: `data-${suffix}`, incidentsTableName: `incidents-${suffix}` };
  await ensureTables(emulators.dynamoClient, names);
  return names;
}

/** The event the SQS event source mapping would invoke the worker with for these received messages. */
export function sqsEventOf(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: { ApproximateReceiveCount: '1' } as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}
