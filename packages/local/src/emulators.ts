import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type TableNames, tableDefinitions } from '@incident-pilot/aws';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { closeDynaliteIterators } from './dynalite-iterators.js';

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
  /** Interface both emulators listen on (default 127.0.0.1): neither has authentication. */
  host?: string;
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
 * Starts DynamoDB (dynalite) and SQS (fauxqs) in this process on `host` (127.0.0.1) and creates the two tables
 * and the job queue with its dead-letter queue, as the stack defines them.
 *
 * - DynamoDB data persists under `dataDir` (LevelDB); only one process may open a directory at a time.
 *   dynalite has no TTL expiry and no transactions: the store filters expired items and uses
 *   conditional writes instead, and the local stack deletes expired items itself (ttl-sweeper.ts).
 *   dynalite's LevelDB iterators are closed after each request (dynalite-iterators.ts).
 * - fauxqs 1.9.2 keeps queues in memory only: queued jobs do not survive a restart (the local stack
 *   re-queues pending alert groups at start). It has no auth: its app is started here on `host`, since
 *   fauxqs's own `startFauxqs` always listens on every interface.
 *
 * A busy port, a locked data directory or one LevelDB cannot open fails with a {@link LocalStartError} whose
 * message is one line.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const queueSettings: QueueSettings = {
    ...QUEUE_SETTINGS,
    ...(options.visibilityTimeoutSeconds !== undefined && {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    }),
    ...(options.maxReceiveCount !== undefined && { maxReceiveCount: options.maxReceiveCount }),
  };
  const host = options.host ?? '127.0.0.1';
  const unlock = options.dataDir ? lockDataDir(options.dataDir) : () => {};
  if (options.dataDir) {
    try {
      await checkOpenable(options.dataDir);
    } catch (error) {
      unlock();
      throw error;
    }
  }

  closeDynaliteIterators();
  const dynamo = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const sqs = buildApp({ logger: false });
  let dynamoClient: DynamoDBClient | undefined;
  let sqsClient: SQSClient | undefined;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    dynamoClient?.destroy();
    sqsClient?.destroy();
    await Promise.all([sqs.close(), close(dynamo)]);
    unlock();
  };

  try {
    await listen(dynamo, options.dynamoPort ?? 0, host, 'DynamoDB emulator', 'INCIDENT_PILOT_DYNAMODB_PORT');
    const dynamoEndpoint = endpointOf(host, (dynamo.address() as AddressInfo).port);
    dynamoClient = new DynamoDBClient({ endpoint: dynamoEndpoint, region: REGION, credentials: CREDENTIALS });
    await ensureTables(dynamoClient, LOCAL_TABLE_NAMES);

    const sqsPort = options.sqsPort ?? 0;
    // Through fastify's own listen, so that its close() also closes the socket.
    await sqs.listen({ port: sqsPort, host }).catch((error: NodeJS.ErrnoException) => {
      throw listenError(error, 'SQS emulator', host, sqsPort, 'INCIDENT_PILOT_SQS_PORT');
    });
    const sqsEndpoint = endpointOf(host, (sqs.server.address() as AddressInfo).port);
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

/** Pid files this process wrote and holds: one naming this process is stale unless listed here. */
const heldPidFiles = new Set<string>();

/**
 * A second dynalite on the same LevelDB directory does not fail cleanly (its requests hang and LevelDB
 * throws an uncaught error), so claim the directory with a pid file first. A file left by a process
 * that is gone (crash, kill -9) is taken over, and so is one naming this process that it did not write
 * (a container restarted after a kill gives node the same pid again).
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  // By its real path: the same directory named another way (relative, through a symlink) is the same lock.
  const file = join(realpathSync(dataDir), 'emulators.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      heldPidFiles.add(file);
      return () => {
        heldPidFiles.delete(file);
        rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid === process.pid ? heldPidFiles.has(file) : isAlive(pid)) {
        throw new LocalStartError(
          `data directory ${dataDir} is in use by process ${pid}: stop it, or set INCIDENT_PILOT_DATA_DIR to another directory`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${dataDir}`);
}

/**
 * dynalite opens its LevelDB in the background: one it cannot open (a corrupt or half-copied directory)
 * fails its first request with an uncaught "Database is closed" that names neither the directory nor the
 * cause. Open it once first, with the same LevelDB binding, to say which directory and why.
 */
async function checkOpenable(dataDir: string): Promise<void> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as { Level: new (path: string) => LevelDatabase };
  const db = new Level(dataDir);
  try {
    await db.open();
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new LocalStartError(
      `data directory ${dataDir} cannot be opened (${cause instanceof Error ? cause.message : String(cause)}): ` +
        'move it aside to start afresh, or set INCIDENT_PILOT_DATA_DIR to another directory',
    );
  } finally {
    await db.close();
  }
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
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

/** A start-up failure the user can fix (busy port, locked data directory): its message is one line. */
export class LocalStartError extends Error {
  override name = 'LocalStartError';
}

/** Listens on host:port; a busy port becomes a LocalStartError naming what and the variable to change. */
export function listen(server: Server, port: number, host: string, what: string, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, what, host, port, variable));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function listenError(error: NodeJS.ErrnoException, what: string, host: string, port: number, variable: string) {
  if (error.code === 'EADDRINUSE') {
    return new LocalStartError(
      `${what}: port ${port} on ${host} is already in use: stop what holds it, or set ${variable}`,
    );
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES') {
    return new LocalStartError(
      `${what}: cannot listen on ${host}:${port} (${error.code}): check INCIDENT_PILOT_HOST and ${variable}`,
    );
  }
  return error;
}

/** The URL clients use for a server listening on `host`: the wildcard addresses are reached over loopback. */
export function endpointOf(host: string, port: number): string {
  const connect = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${connect.includes(':') ? `[${connect}]` : connect}:${port}`;
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
    await addMissingIndexes(client, input);
  }
  await waitActive(client, input.TableName ?? '');
}

/**
 * A data directory from an earlier version lacks the indexes added (or changed) since, and dynalite
 * cannot add or change an index of a table: rebuild the table (read everything, recreate it, write everything back). Local
 * tables are small; the items are kept in memory meanwhile.
 */
async function addMissingIndexes(client: DynamoDBClient, input: ReturnType<typeof tableDefinitions>[number]) {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
  // An index is described by its name and what it projects.
  const shape = (i: { IndexName?: string; Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] } }) =>
    JSON.stringify([i.IndexName, i.Projection?.ProjectionType, [...(i.Projection?.NonKeyAttributes ?? [])].sort()]);
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map(shape));
  if ((input.GlobalSecondaryIndexes ?? []).every((i) => present.has(shape(i)))) return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: input.TableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: input.TableName }));
  await waitGone(client, input.TableName ?? '');
  await client.send(new CreateTableCommand(input));
  await waitActive(client, input.TableName ?? '');
  for (const item of items) await client.send(new PutItemCommand({ TableName: input.TableName, Item: item }));
}

/** dynalite deletes a table in the background (DELETING for a moment): a new one of its name must wait. */
async function waitGone(client: DynamoDBClient, tableName: string) {
  for (let i = 0; i < 200; i++) {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} was not deleted`);
}

async function waitActive(client: DynamoDBClient, tableName: string) {
  // Even with createTableMs = 0 dynalite reports CREATING for a tick.
  for (let i = 0; i < 200; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((x) => x.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} did not become active`);
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
