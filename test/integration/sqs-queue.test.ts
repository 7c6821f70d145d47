import {
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsQueue, redriveDlq } from '@incident-pilot/aws';
import { type CorrelationJob, correlationJobSchema, TransientError } from '@incident-pilot/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { QUEUE_SETTINGS, startEmulators } from '../../packages/local/src/emulators.js';
import { useEmulators } from '../helpers/emulators.js';
import { failNextRequests } from '../helpers/faults.js';

const emulators = useEmulators();

const job = (groupId = 'a1'): CorrelationJob => ({
  groupId,
  enqueuedAt: '2026-11-25T04:00:00.000Z',
});

async function receive(queueUrl: string, visibilityTimeout?: number): Promise<Message[]> {
  const out = await emulators().sqsClient.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: visibilityTimeout }),
  );
  return out.Messages ?? [];
}

describe('SQS job queue', () => {
  beforeEach(async () => {
    const { sqsClient, queueUrl, dlqUrl } = emulators();
    await sqsClient.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    await sqsClient.send(new PurgeQueueCommand({ QueueUrl: dlqUrl }));
  });

  it('enqueues a job as its JSON body', async () => {
    const { sqsClient, queueUrl } = emulators();

    await createSqsQueue({ queueUrl, client: sqsClient }).enqueue(job());

    const [message] = await receive(queueUrl);
    expect(correlationJobSchema.parse(JSON.parse(message?.Body ?? ''))).toEqual(job());
  });

  it('creates the queue with the stack’s redrive settings', async () => {
    const { sqsClient, queueUrl, dlqUrl, dlqArn } = emulators();

    const main = await sqsClient.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    const dlq = await sqsClient.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['All'] }));

    expect(main.Attributes?.VisibilityTimeout).toBe(String(QUEUE_SETTINGS.visibilityTimeoutSeconds));
    expect(JSON.parse(main.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: QUEUE_SETTINGS.maxReceiveCount,
    });
    expect(dlq.Attributes?.MessageRetentionPeriod).toBe(String(QUEUE_SETTINGS.dlqRetentionDays * 86_400));
  });

  it('lets tests shorten the visibility timeout and the receive count', async () => {
    const local = await startEmulators({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    try {
      const { Attributes } = await local.sqsClient.send(
        new GetQueueAttributesCommand({ QueueUrl: local.queueUrl, AttributeNames: ['All'] }),
      );

      expect(Attributes?.VisibilityTimeout).toBe('1');
      expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}').maxReceiveCount).toBe(2);
      expect(local.queueSettings).toMatchObject({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2, batchSize: 10 });
    } finally {
      await local.stop();
    }
  });

  it('dead-letters a job after maxReceiveCount receives and redrives it back', async () => {
    const { sqsClient, queueUrl, dlqUrl, queueSettings } = emulators();
    await createSqsQueue({ queueUrl, client: sqsClient }).enqueue(job('bad0'));
    // A worker that never deletes: every receive fails the job; 0 s visibility brings it back at once.
    for (let i = 0; i < queueSettings.maxReceiveCount; i++) expect(await receive(queueUrl, 0)).toHaveLength(1);
    expect(await receive(queueUrl, 0)).toHaveLength(0);

    const moved = await redriveDlq({ client: sqsClient, sourceQueueUrl: dlqUrl, targetQueueUrl: queueUrl });

    expect(moved).toBe(1);
    const [message] = await receive(queueUrl);
    expect(JSON.parse(message?.Body ?? '')).toEqual(job('bad0'));
    expect(await receive(dlqUrl)).toHaveLength(0);
  });

  it('redrives at most `max` messages', async () => {
    const { sqsClient, queueUrl, dlqUrl } = emulators();
    for (const id of ['a', 'b', 'c']) {
      await sqsClient.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(job(id)) }));
    }

    const moved = await redriveDlq({ client: sqsClient, sourceQueueUrl: dlqUrl, targetQueueUrl: queueUrl, max: 2 });

    expect(moved).toBe(2);
    expect(await receive(queueUrl)).toHaveLength(2);
  });

  it('maps throttling to TransientError', async () => {
    const { sqsEndpoint, queueUrl } = emulators();
    const client = new SQSClient({ ...clientConfig(sqsEndpoint), maxAttempts: 1 });
    failNextRequests(client, () => new RequestThrottled({ message: 'slow down', $metadata: { httpStatusCode: 403 } }));

    await expect(createSqsQueue({ queueUrl, client }).enqueue(job())).rejects.toBeInstanceOf(TransientError);
    client.destroy();
  });

  it('maps a refused connection to TransientError', async () => {
    const client = new SQSClient({ ...clientConfig('http://127.0.0.1:9'), maxAttempts: 1 });

    await expect(createSqsQueue({ queueUrl: emulators().queueUrl, client }).enqueue(job())).rejects.toBeInstanceOf(
      TransientError,
    );
    client.destroy();
  });

  it('passes a missing queue through unchanged', async () => {
    const { sqsClient, queueUrl } = emulators();

    const error = await createSqsQueue({ queueUrl: `${queueUrl}-missing`, client: sqsClient })
      .enqueue(job())
      .catch((e: unknown) => e);

    expect(error).not.toBeInstanceOf(TransientError);
    expect((error as Error).name).toBe('QueueDoesNotExist');
  });
});

function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    useQueueUrlAsEndpoint: false,
  };
}
