import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type CorrelationJob, type JobQueue, MAX_JOB_DELAY_SECONDS } from '@incident-pilot/core';
import { mapAwsError } from './errors.js';

export interface SqsQueueOptions {
  /** The correlation-job queue (env `INCIDENT_PILOT_QUEUE_URL`). */
  queueUrl: string;
  client?: SQSClient;
}

async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapAwsError(error, `SQS ${operation}`);
  }
}

export interface SqsJobQueue extends JobQueue {
  /** Makes a received message visible again only after `seconds` (a sink's Retry-After). */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
}

/** SQS's longest visibility timeout: 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** The SQS implementation of JobQueue: one message per job, the job as its JSON body. */
export function createSqsQueue({ queueUrl, client = new SQSClient({}) }: SqsQueueOptions): SqsJobQueue {
  return {
    async enqueue(job: CorrelationJob, delaySeconds = 0): Promise<void> {
      const DelaySeconds = Math.max(0, Math.min(MAX_JOB_DELAY_SECONDS, Math.ceil(delaySeconds)));
      await call('SendMessage', () =>
        client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: JSON.stringify(job),
            ...(DelaySeconds > 0 ? { DelaySeconds } : {}),
          }),
        ),
      );
    },
    async retryLater(receiptHandle: string, seconds: number): Promise<void> {
      const timeout = Math.min(Math.ceil(seconds), MAX_VISIBILITY_SECONDS);
      await call('ChangeMessageVisibility', () =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: timeout,
          }),
        ),
      );
    },
  };
}

export interface RedriveOptions {
  client: SQSClient;
  /** The dead-letter queue to drain. */
  sourceQueueUrl: string;
  /** Where the messages go back to: the main queue. */
  targetQueueUrl: string;
  /** Stop after this many messages (default: until the source looks empty). */
  max?: number;
}

/**
 * Moves messages from a dead-letter queue back to the main queue (receive → send → delete), keeping
 * body and message attributes; returns how many moved. A message is deleted only after its copy was
 * sent, so a crash mid-way duplicates rather than loses a job (jobs are idempotent). Works on fauxqs,
 * which lacks SQS's own StartMessageMoveTask, as well as in AWS.
 */
export async function redriveDlq({
  client,
  sourceQueueUrl,
  targetQueueUrl,
  max = Number.POSITIVE_INFINITY,
}: RedriveOptions): Promise<number> {
  if (sourceQueueUrl === targetQueueUrl) throw new Error('redriveDlq: source and target are the same queue');
  let moved = 0;
  while (moved < max) {
    const received = await call('ReceiveMessage', () =>
      client.send(
        new ReceiveMessageCommand({
          QueueUrl: sourceQueueUrl,
          MaxNumberOfMessages: Math.min(10, max - moved),
          // Long polling asks every SQS server, so an empty answer really means "drained".
          WaitTimeSeconds: 1,
          VisibilityTimeout: 60,
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await call('SendMessageBatch', () =>
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: targetQueueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            MessageAttributes: m.MessageAttributes,
          })),
        }),
      ),
    );
    // Failed sends stay in the DLQ and reappear after the visibility timeout.
    const toDelete = (sent.Successful ?? []).flatMap((s) => {
      const handle = messages[Number(s.Id)]?.ReceiptHandle;
      return handle ? [{ Id: s.Id, ReceiptHandle: handle }] : [];
    });
    if (toDelete.length > 0) {
      await call('DeleteMessageBatch', () =>
        client.send(new DeleteMessageBatchCommand({ QueueUrl: sourceQueueUrl, Entries: toDelete })),
      );
    }
    moved += toDelete.length;
    if (toDelete.length === 0) break;
  }
  return moved;
}
