import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** Messages per invocation, as the event source mapping's BatchSize. */
  batchSize: number;
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  onError?: (error: unknown) => void;
  /** Long-poll wait; short so that stopping is quick. */
  waitSeconds?: number;
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

/**
 * Does what Lambda's SQS event source mapping does: receive a batch, invoke the worker with an SQS
 * event, delete the messages that succeeded and leave the reported failures (or the whole batch, if
 * the handler threw) to come back after the visibility timeout. The queue's redrive policy moves a
 * message to the dead-letter queue after maxReceiveCount receives.
 */
export function startPoller(options: PollerOptions) {
  const { client, queueUrl, queueArn, batchSize, invoke } = options;
  let running = true;
  let abort = new AbortController();
  const loop = (async () => {
    while (running) {
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        let failed: Set<string>;
        try {
          const result = await invoke({ Records: messages.map((m) => toRecord(m, queueArn)) });
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          options.onError?.(error);
          failed = new Set(messages.map((m) => m.MessageId ?? ''));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
        if (done.length > 0) {
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
            }),
          );
        }
      } catch (error) {
        if (!running) break;
        options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      abort.abort();
      abort = new AbortController();
      await loop;
    },
  };
}
