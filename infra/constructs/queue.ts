import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Receives before a job is parked in the dead-letter queue (the local poller uses the same value). */
export const MAX_RECEIVE_COUNT = 5;

export interface JobQueueProps {
  /** The consumer's timeout: the visibility timeout is derived from it. */
  readonly workerTimeout: Duration;
  /** The event source's batching window, which also counts against the visibility timeout. */
  readonly maxBatchingWindow: Duration;
}

/**
 * The jobs queue between ingest and the worker, with its dead-letter queue. Both use SQS-managed
 * encryption (no KMS key to pay for or grant) and refuse non-TLS requests.
 */
export class JobQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);

    this.deadLetterQueue = new Queue(this, 'DeadLetter', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The maximum: time to notice the alarm, find the cause and redrive.
      retentionPeriod: Duration.days(14),
    });

    this.queue = new Queue(this, 'Jobs', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // AWS guidance for Lambda consumers: at least 6x the function timeout plus the batching window,
      // so a job is not redelivered while a throttled or retried invocation still holds it.
      visibilityTimeout: Duration.seconds(
        6 * props.workerTimeout.toSeconds() + Math.ceil(props.maxBatchingWindow.toMilliseconds() / 1000),
      ),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}
