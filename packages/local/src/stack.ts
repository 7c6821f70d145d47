import type { Server } from 'node:http';
import { createSqsQueue } from '@incident-pilot/aws';
import { handler as alerts } from '../../../functions/alerts.js';
import { handler as context } from '../../../functions/context.js';
import { handler as interactions } from '../../../functions/interactions.js';
import { resetRoot } from '../../../functions/lib/composition.js';
import { parseEnv } from '../../../functions/lib/env.js';
import { handler as query } from '../../../functions/query.js';
import { ROUTES } from '../../../functions/routes.js';
import { handler as worker } from '../../../functions/worker.js';
import { QUEUE_SETTINGS, startEmulators } from './emulators.js';
import { startPoller } from './poller.js';
import { requeuePending } from './recovery.js';
import { type LocalRoute, lambdaContext, portOf, startHttpServer } from './server.js';

export interface LocalStackOptions {
  /** HTTP port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Where DynamoDB data persists; `undefined` keeps it in memory (tests). */
  dataDir?: string;
  /** Extra function environment (token, Slack webhook, quiet, thresholds…). */
  env?: Record<string, string>;
  /** Queue visibility timeout; shorter in tests so retries come back quickly. */
  visibilityTimeoutSeconds?: number;
  onError?: (error: unknown) => void;
}

export interface LocalStack {
  url: string;
  port: number;
  queueUrl: string;
  dlqUrl: string;
  requeued: number;
  emulators: Awaited<ReturnType<typeof startEmulators>>;
  stop(): Promise<void>;
}

const invokers = { alerts, context, query, interactions } as const;

/**
 * Starts the whole pipeline on this machine: dynalite, fauxqs, an API Gateway stand-in calling the
 * deployed HTTP handlers, and an event-source-mapping stand-in feeding the deployed worker.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const emulators = await startEmulators({
    dataDir: options.dataDir,
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
  try {
    parseEnv();
    const routes: LocalRoute[] = ROUTES.map((r) => ({ method: r.method, path: r.path, invoke: invokers[r.fn] }));
    server = await startHttpServer(routes, options.port ?? 0, options.host);
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
  const port = portOf(server);
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    queueUrl: emulators.queueUrl,
    dlqUrl: emulators.dlqUrl,
    requeued,
    emulators,
    async stop() {
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
      server?.closeAllConnections();
      await closed;
      await poller.stop();
      await emulators.stop();
      restoreEnv();
      resetRoot();
    },
  };
}
