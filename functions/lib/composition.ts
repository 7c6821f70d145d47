/**
 * The composition root: the one place that builds adapters from configuration. Built once per
 * cold start (per process locally) and shared by every invocation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoStore, createSqsQueue } from '@incident-pilot/aws';
import {
  type EngineConfig,
  type Incident,
  type JobQueue,
  type Logger,
  narrate,
  type Rule,
  rules,
  type Sink,
  type Store,
} from '@incident-pilot/core';
import { createLlmNarrator, createSlackSink, createStdoutSink } from '@incident-pilot/sinks';
import { type Env, parseEnv } from './env.js';
import { createLogger } from './logger.js';
import { createSecretReader } from './secrets.js';

export interface Root {
  env: Env;
  log: Logger;
  store: Store;
  queue: JobQueue & { retryLater(receiptHandle: string, seconds: number): Promise<void> };
  rules: readonly Rule[];
  config: EngineConfig;
  now(): number;
  /** The inbound token; `null` when the API runs open (local only). */
  token(): Promise<string | null>;
  sinks(): Promise<Sink[]>;
  narrate(incident: Incident): Promise<string>;
}

export interface RootOverrides {
  dynamo?: DynamoDBClient;
  sqs?: SQSClient;
  secrets?: SecretsManagerClient;
  fetch?: typeof globalThis.fetch;
  /** Where the stdout sink writes. */
  write?: (text: string) => void;
  now?: () => number;
}

export function createRoot(env: Env, overrides: RootOverrides = {}): Root {
  const log = createLogger(env.INCIDENT_PILOT_LOG_LEVEL);
  // The endpoint comes from the region (or AWS_ENDPOINT_URL_SQS locally), never from the queue URL's
  // host: the local emulator's URLs name a host (sqs.<region>.localhost) that need not resolve.
  const sqs = overrides.sqs ?? new SQSClient({ useQueueUrlAsEndpoint: false });
  const queue = createSqsQueue({ queueUrl: env.INCIDENT_PILOT_QUEUE_URL, client: sqs });
  const store = createDynamoStore({
    tableName: env.INCIDENT_PILOT_TABLE,
    incidentsTableName: env.INCIDENT_PILOT_INCIDENTS_TABLE,
    client: overrides.dynamo ?? new DynamoDBClient({}),
    alertTtlDays: env.INCIDENT_PILOT_ALERT_TTL_DAYS,
  });
  let secrets: ReturnType<typeof createSecretReader> | undefined;
  const secret = (arn: string) => {
    secrets ??= createSecretReader({ client: overrides.secrets ?? new SecretsManagerClient({}) });
    return secrets(arn);
  };
  const fetch = overrides.fetch ?? globalThis.fetch;

  let narrator: ReturnType<typeof createLlmNarrator> | undefined;
  const llm = env.INCIDENT_PILOT_LLM_PROVIDER
    ? async () =>
        (narrator ??= createLlmNarrator({
          provider: env.INCIDENT_PILOT_LLM_PROVIDER as 'openai' | 'anthropic',
          endpoint: env.INCIDENT_PILOT_LLM_ENDPOINT,
          model: env.INCIDENT_PILOT_LLM_MODEL,
          apiKey: env.INCIDENT_PILOT_LLM_SECRET_ARN
            ? await secret(env.INCIDENT_PILOT_LLM_SECRET_ARN)
            : env.INCIDENT_PILOT_LLM_API_KEY,
          fetch,
        }))
    : undefined;

  let slackNoticeLogged = false;
  const slackUrl = async () => {
    const url = env.INCIDENT_PILOT_SLACK_SECRET_ARN
      ? await secret(env.INCIDENT_PILOT_SLACK_SECRET_ARN)
      : env.INCIDENT_PILOT_SLACK_WEBHOOK;
    if (url && !/^https?:\/\//.test(url) && !slackNoticeLogged) {
      // The stack creates the secret with a placeholder until an operator fills it in.
      log.info('Slack is not configured: the Slack webhook secret does not hold a URL yet');
      slackNoticeLogged = true;
    }
    return /^https?:\/\//.test(url) ? url : '';
  };

  return {
    env,
    log,
    store,
    queue: {
      enqueue: (job) => queue.enqueue(job),
      // Honours a sink's Retry-After: the message comes back when the sink is ready, not before.
      async retryLater(receiptHandle, seconds) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: env.INCIDENT_PILOT_QUEUE_URL,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.min(Math.ceil(seconds), 43_200),
          }),
        );
      },
    },
    rules,
    config: env.INCIDENT_PILOT_ENGINE_CONFIG,
    now: overrides.now ?? Date.now,
    async token() {
      if (env.INCIDENT_PILOT_TOKEN_SECRET_ARN) return secret(env.INCIDENT_PILOT_TOKEN_SECRET_ARN);
      return env.INCIDENT_PILOT_TOKEN || null;
    },
    async sinks() {
      const sinks: Sink[] = [];
      if (!env.INCIDENT_PILOT_QUIET) sinks.push(createStdoutSink(overrides.write ? { write: overrides.write } : {}));
      const url = await slackUrl();
      if (url) sinks.push(createSlackSink({ webhookUrl: url, fetch }));
      return sinks;
    },
    async narrate(incident) {
      const templated = narrate(incident);
      if (!llm) return templated;
      return (await llm()).rephrase(incident, templated);
    },
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
