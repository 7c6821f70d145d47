import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type TableNames, tableDefinitions } from '@incident-pilot/aws';
import dynalite from 'dynalite';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** The queue settings the CDK stack uses; the local stack copies them so retries behave the same. */
export const QUEUE_SETTINGS = {
  /** Six times the worker's timeout, as AWS recommends for an event source mapping. */
  visibilityTimeoutSeconds: 180,
  /** Receives before a job moves to the dead-letter queue. */
  maxReceiveCount: 5,
  dlqRetentionDays: 14,
  /** Messages per worker invocation. */
  batchSize: 10,
} as const;

/** QUEUE_SETTINGS as plain numbers, after overrides. */
export type QueueSettings = { -readonly [K in keyof typeof QUEUE_SETTINGS]: number };

/** Queue names, as the stack names them. */
export const QUEUE_NAMES = { queue: 'incident-pilot-jobs', dlq: 'incident-pilot-jobs-dlq' } as const;

/** Table names used locally (in AWS the stack names them). */
export const LOCAL_TABLE_NAMES: TableNames = {
  tableName: 'incident-pilot',
  incidentsTableName: 'incident-pilot-incidents',
};

export interface EmulatorOptions {
  /** Where dynalite keeps its LevelDB files; `undefined` keeps everything in memory. */
  dataDir?: string;
  /** 0 (default) picks a free port. */
  dynamoPort?: number;
  sqsPort?: number;
  /** Tests shorten it so an unacknowledged job comes back quickly. */
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
}

export interface Emulators extends TableNames {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  /** The effective settings (QUEUE_SETTINGS with the overrides applied). */
  queueSettings: QueueSettings;
  /** SDK v3 clients pointed at the emulators (region us-east-1, dummy credentials). */
  dynamoClient: DynamoDBClient;
  sqsClient: SQSClient;
  /** Stops both emulators and destroys the clients; safe to call twice. */
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Starts DynamoDB (dynalite) and SQS (fauxqs) in this process on 127.0.0.1 and creates the two tables
 * and the job queue with its dead-letter queue, as the stack defines them.
 *
 * - DynamoDB data persists under `dataDir` (LevelDB); only one process may open a directory at a time.
 *   dynalite has no TTL expiry and no transactions: the store filters expired items and uses
 *   conditional writes instead.
 * - fauxqs 1.9.2 keeps queues in memory only: queued jobs do not survive a restart (the local stack
 *   re-queues pending alert groups at start). It listens on all interfaces and has no auth.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const queueSettings: QueueSettings = {
    ...QUEUE_SETTINGS,
    ...(options.visibilityTimeoutSeconds !== undefined && {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    }),
    ...(options.maxReceiveCount !== undefined && { maxReceiveCount: options.maxReceiveCount }),
  };
  const unlock = options.dataDir ? lockDataDir(options.dataDir) : () => {};

  const dynamo = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let dynamoClient: DynamoDBClient | undefined;
  let sqs: FauxqsServer | undefined;
  let sqsClient: SQSClient | undefined;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    dynamoClient?.destroy();
    sqsClient?.destroy();
    await Promise.all([sqs?.stop(), close(dynamo)]);
    unlock();
  };

  try {
    await listen(dynamo, options.dynamoPort ?? 0);
    const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
    dynamoClient = new DynamoDBClient({ endpoint: dynamoEndpoint, region: REGION, credentials: CREDENTIALS });
    await ensureTables(dynamoClient, LOCAL_TABLE_NAMES);

    sqs = await startFauxqs({ port: options.sqsPort ?? 0, logger: false });
    // `address` is what fastify reports for 0.0.0.0; connect over loopback.
    const sqsEndpoint = `http://127.0.0.1:${sqs.port}`;
    // Requests go to the endpoint, never to the queue URL's host (sqs.<region>.localhost need not resolve).
    sqsClient = new SQSClient({
      endpoint: sqsEndpoint,
      region: REGION,
      credentials: CREDENTIALS,
      useQueueUrlAsEndpoint: false,
    });
    const dlq = await createQueue(sqsClient, QUEUE_NAMES.dlq, {
      MessageRetentionPeriod: String(queueSettings.dlqRetentionDays * 86_400),
    });
    const queue = await createQueue(sqsClient, QUEUE_NAMES.queue, {
      VisibilityTimeout: String(queueSettings.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: queueSettings.maxReceiveCount }),
    });

    return {
      dynamoEndpoint,
      sqsEndpoint,
      ...LOCAL_TABLE_NAMES,
      queueUrl: queue.url,
      queueArn: queue.arn,
      dlqUrl: dlq.url,
      dlqArn: dlq.arn,
      queueSettings,
      dynamoClient,
      sqsClient,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A second dynalite on the same LevelDB directory does not fail cleanly (its requests hang and LevelDB
 * throws an uncaught error), so claim the directory with a pid file first. A file left by a process
 * that is gone (crash, kill -9) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'emulators.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8'));
      if (isAlive(pid)) {
        throw new Error(`${dataDir} is in use by process ${pid}: stop it or choose another data directory`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  // dynalite closes its LevelDB only once every connection is gone; do not wait for keep-alive sockets.
  server.closeAllConnections();
  return closed;
}

/** Creates both tables under `names` unless they exist, and waits until they are active. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const input of tableDefinitions(names)) await ensureTable(client, input);
}

async function ensureTable(client: DynamoDBClient, input: ReturnType<typeof tableDefinitions>[number]) {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    // Persisted data: the table is already there.
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) {
      throw new Error(`cannot create table ${input.TableName}`, { cause: error });
    }
  }
  // Even with createTableMs = 0 dynalite reports CREATING for a tick.
  for (let i = 0; i < 200; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${input.TableName} did not become active`);
}

async function createQueue(client: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!url) throw new Error(`fauxqs returned no URL for queue ${name}`);
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`fauxqs returned no ARN for queue ${name}`);
  return { url, arn };
}
