/**
 * The composition root: the one place that builds adapters from configuration. Built once per
 * cold start (per process locally) and shared by every invocation. What only the worker needs (sinks,
 * LLM) is wired in delivery.ts, so the HTTP functions' bundles do not carry it. The rule registry and
 * the templated narration are not here either: they are core code, not adapters, and the functions
 * that use them (worker, query, interactions) import them from the core, so that the ingest, context
 * and heartbeat bundles leave them out (scripts/bench-cold-start.ts).
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoHeartbeats, createDynamoStore, createSqsQueue, type SqsJobQueue } from '@incident-pilot/aws';
import {
  defaultPacing,
  type EngineConfig,
  type HeartbeatRepository,
  type Logger,
  type Pacing,
  type Store,
} from '@incident-pilot/core';
import { type Env, parseEnv } from './env.js';
import { createLogger } from './logger.js';
import { type AppMetrics, createMetrics, withMetrics } from './metrics.js';
import { createSecretReader } from './secrets.js';

export interface Root {
  env: Env;
  /** How often open incidents are refreshed and updates announced (from the environment). */
  pacing: Pacing;
  log: Logger;
  metrics: AppMetrics;
  /** The store, its counters also emitted as metrics. */
  store: Store;
  /** The dead man's switch's item (ingest records heartbeats, the scheduled check reads them). */
  heartbeats: HeartbeatRepository;
  queue: SqsJobQueue;
  config: EngineConfig;
  now(): number;
  /** The inbound token; `null` when the API runs open (local only). */
  token(): Promise<string | null>;
  /** Reads a Secrets Manager secret (cached). */
  secret(arn: string): Promise<string>;
  overrides: RootOverrides;
}

export interface RootOverrides {
  dynamo?: DynamoDBClient;
  sqs?: SQSClient;
  secrets?: SecretsManagerClient;
  fetch?: typeof globalThis.fetch;
  /** The worker's Bedrock client (LLM provider `bedrock`). */
  bedrock?: BedrockRuntimeClient;
  /** Where the stdout sink writes. */
  write?: (text: string) => void;
  now?: () => number;
}

export function createRoot(env: Env, overrides: RootOverrides = {}): Root {
  const log = createLogger(env.INCIDENT_PILOT_LOG_LEVEL);
  const metrics = createMetrics();
  // The endpoint comes from the region (or AWS_ENDPOINT_URL_SQS locally), never from the queue URL's
  // host: the local emulator's URLs name a host (sqs.<region>.localhost) that need not resolve.
  const sqs = overrides.sqs ?? new SQSClient({ useQueueUrlAsEndpoint: false });
  const queue = createSqsQueue({ queueUrl: env.INCIDENT_PILOT_QUEUE_URL, client: sqs });
  const tables = {
    tableName: env.INCIDENT_PILOT_TABLE,
    incidentsTableName: env.INCIDENT_PILOT_INCIDENTS_TABLE,
    client: overrides.dynamo ?? new DynamoDBClient({}),
  };
  const store = withMetrics(createDynamoStore({ ...tables, alertTtlDays: env.INCIDENT_PILOT_ALERT_TTL_DAYS }), metrics);
  const heartbeats = createDynamoHeartbeats(tables);
  let secrets: ReturnType<typeof createSecretReader> | undefined;
  const secret = (arn: string) => {
    secrets ??= createSecretReader({ client: overrides.secrets ?? new SecretsManagerClient({}) });
    return secrets(arn);
  };
  return {
    env,
    log,
    metrics,
    store,
    heartbeats,
    queue,
    config: env.INCIDENT_PILOT_ENGINE_CONFIG,
    pacing: {
      ...defaultPacing,
      refreshMs: env.INCIDENT_PILOT_REFRESH_SECONDS * 1000,
      updateMinMs: env.INCIDENT_PILOT_UPDATE_MIN_SECONDS * 1000,
    },
    now: overrides.now ?? Date.now,
    async token() {
      if (env.INCIDENT_PILOT_TOKEN_SECRET_ARN) return secret(env.INCIDENT_PILOT_TOKEN_SECRET_ARN);
      return env.INCIDENT_PILOT_TOKEN || null;
    },
    secret,
    overrides,
  };
}

let root: Root | undefined;

/** The process-wide root, built from the environment on first use (a cold start). */
export function getRoot(): Root {
  root ??= createRoot(parseEnv());
  return root;
}

/** Forgets the root, as a new cold start would; the local stack calls it when it (re)starts. */
export function resetRoot(): void {
  root = undefined;
}
