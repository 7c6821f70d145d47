import type { Server } from 'node:http';
import { type DynamoDBClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { createSqsQueue, INCIDENTS_TABLE } from '@incident-pilot/aws';
import { handler as alerts } from '../../../functions/alerts.js';
import { handler as context } from '../../../functions/context.js';
import { heartbeatRoute, rearmHeartbeat } from '../../../functions/heartbeat.js';
import { handler as interactions } from '../../../functions/interactions.js';
import { resetRoot } from '../../../functions/lib/composition.js';
import { parseEnv } from '../../../functions/lib/env.js';
import { handler as query } from '../../../functions/query.js';
import { DEFAULT_ROUTE_FN, ROUTES } from '../../../functions/routes.js';
import { handler as worker } from '../../../functions/worker.js';
import { endpointOf, QUEUE_SETTINGS, startEmulators } from './emulators.js';
import { startPoller } from './poller.js';
import { requeuePending } from './recovery.js';
import { type LocalRoute, lambdaContext, portOf, startHttpServer } from './server.js';
import { sweepExpired, TTL_SWEEP_INTERVAL_MS } from './ttl-sweeper.js';

export interface LocalStackOptions {
  /** HTTP port; 0 picks a free one. */
  port?: number;
  /** Interface the HTTP server and both emulators listen on (default 127.0.0.1). */
  host?: string;
  /** Emulator ports; 0 (default) picks free ones. */
  dynamoPort?: number;
  sqsPort?: number;
  /** How often the heartbeat check runs (EventBridge Scheduler runs it every minute in AWS). */
  heartbeatIntervalMs?: number;
  /** How often expired items are deleted (DynamoDB's TTL; dynalite has none); the first sweep runs within a minute. */
  ttlSweepIntervalMs?: number;
  /** Where DynamoDB data persists; `undefined` keeps it in memory (tests). */
  dataDir?: string;
  /** Extra function environment (token, Slack webhook, quiet, thresholds…). */
  env?: Record<string, string>;
  /** Queue visibility timeout; shorter in tests so retries come back quickly. */
  visibilityTimeoutSeconds?: number;
  /** How long a stop waits for the requests in flight to be answered before it cuts them (default 5 s). */
  requestDrainMs?: number;
  onError?: (error: unknown) => void;
}

export interface LocalStack {
  url: string;
  port: number;
  queueUrl: string;
  dlqUrl: string;
  requeued: number;
  /** Incidents stored when the stack started. */
  incidents: number;
  emulators: Awaited<ReturnType<typeof startEmulators>>;
  stop(): Promise<void>;
}

const invokers = { alerts, context, query, interactions } as const;

/**
 * Starts the whole pipeline on this machine: dynalite, fauxqs, an API Gateway stand-in calling the
 * deployed HTTP handlers, and an event-source-mapping stand-in feeding the deployed worker.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const emulators = await startEmulators({
    dataDir: options.dataDir,
    host,
    ...(options.dynamoPort ? { dynamoPort: options.dynamoPort } : {}),
    ...(options.sqsPort ? { sqsPort: options.sqsPort } : {}),
    ...(options.visibilityTimeoutSeconds ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds } : {}),
  });
  // The handlers read their configuration from the environment at cold start, exactly as in Lambda.
  const functionEnv: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    // Local development may run on Node 20; Lambda runs Node 24.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoEndpoint,
    AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
    INCIDENT_PILOT_TABLE: emulators.tableName,
    INCIDENT_PILOT_INCIDENTS_TABLE: emulators.incidentsTableName,
    INCIDENT_PILOT_QUEUE_URL: emulators.queueUrl,
    // EMF lines are for CloudWatch; locally they would bury the log lines (POWERTOOLS_METRICS_DISABLED=false shows them).
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    ...options.env,
  };
  const previousEnv = Object.fromEntries(Object.keys(functionEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, functionEnv);
  // Put the environment back as it was, so one stack's settings never leak into the next.
  const restoreEnv = () => {
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  resetRoot();
  let server: Server | undefined;
  let incidents = 0;
  try {
    parseEnv();
    incidents = await countIncidents(emulators.dynamoClient, emulators.incidentsTableName);
    await rearmHeartbeat();
    const routes: LocalRoute[] = ROUTES.map((r) => ({ method: r.method, path: r.path, invoke: invokers[r.fn] }));
    server = await startHttpServer(routes, invokers[DEFAULT_ROUTE_FN], options.port ?? 0, host);
  } catch (error) {
    await emulators.stop();
    restoreEnv();
    throw error;
  }
  const requeued = await requeuePending({
    client: emulators.dynamoClient,
    tableName: emulators.tableName,
    incidentsTableName: emulators.incidentsTableName,
    queue: createSqsQueue({ queueUrl: emulators.queueUrl, client: emulators.sqsClient }),
    now: new Date().toISOString(),
  });
  const poller = startPoller({
    client: emulators.sqsClient,
    queueUrl: emulators.queueUrl,
    queueArn: emulators.queueArn,
    batchSize: QUEUE_SETTINGS.batchSize,
    invoke: (event) => worker(event, lambdaContext('worker')),
    onError: options.onError,
  });
  const heartbeat = startTimer(
    options.heartbeatIntervalMs ?? 60_000,
    async () => {
      await heartbeatRoute();
    },
    options.onError,
  );
  const ttlSweepIntervalMs = options.ttlSweepIntervalMs ?? TTL_SWEEP_INTERVAL_MS;
  const stopping = new AbortController();
  const ttlSweeper = startTimer(
    ttlSweepIntervalMs,
    async () => {
      await sweepExpired(emulators.dynamoClient, emulators.tableName, { signal: stopping.signal });
    },
    options.onError,
    Math.min(60_000, ttlSweepIntervalMs),
  );
  const port = portOf(server);
  return {
    url: endpointOf(host, port),
    port,
    queueUrl: emulators.queueUrl,
    dlqUrl: emulators.dlqUrl,
    requeued,
    incidents,
    emulators,
    async stop() {
      if (server) await drain(server, options.requestDrainMs ?? REQUEST_DRAIN_MS);
      await heartbeat.stop();
      stopping.abort();
      await ttlSweeper.stop();
      await poller.stop();
      await emulators.stop();
      restoreEnv();
      resetRoot();
    },
  };
}

/** How long a stop waits for the requests in flight to be answered before it cuts their connections. */
const REQUEST_DRAIN_MS = 5_000;

/**
 * Stops accepting connections and lets the requests in flight finish, as their handlers would in
 * Lambda: a connection is closed once it is idle (its response sent), and any left after `ms` are cut.
 */
async function drain(server: Server, ms: number): Promise<void> {
  let done = false;
  const closed = new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
    done = true;
  });
  const deadline = Date.now() + ms;
  while (!done && Date.now() < deadline) {
    // A keep-alive connection becomes idle when its response is sent; close it then, not at its timeout.
    server.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  server.closeAllConnections();
  await closed;
}

/** Runs `task` every `intervalMs` (the first time after `firstMs`), never two at a time; `stop` waits for a run in progress. */
function startTimer(
  intervalMs: number,
  task: () => Promise<void>,
  onError?: (error: unknown) => void,
  firstMs = intervalMs,
) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = task()
      .catch((error) => onError?.(error))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, firstMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Incidents stored (a count through the every-incident index; no items are read). */
async function countIncidents(client: DynamoDBClient, tableName: string): Promise<number> {
  const { byOpenedAt } = INCIDENTS_TABLE;
  let count = 0;
  let start: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page: QueryCommandOutput = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: byOpenedAt.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': byOpenedAt.partitionKey },
        ExpressionAttributeValues: { ':pk': { S: byOpenedAt.partitionValue } },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}
