/** `npm start`: the whole pipeline on this machine, no cloud account, no Docker. */
import { resolve } from 'node:path';
import * as z from 'zod';
import { setVariables } from '../../../functions/lib/env.js';
import { LocalStartError } from './emulators.js';
import { type LocalStack, startLocalStack } from './stack.js';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const text = (fallback = '') => z.string().default(fallback);

/** Read from the set variables only, as the functions read theirs: `PORT=` is unset, not port 0. */
const localEnv = z.object({
  PORT: port(9099),
  INCIDENT_PILOT_HOST: text('127.0.0.1'),
  INCIDENT_PILOT_DYNAMODB_PORT: port(0),
  INCIDENT_PILOT_SQS_PORT: port(0),
  INCIDENT_PILOT_DATA_DIR: text('.data'),
  INCIDENT_PILOT_TOKEN: text(),
  INCIDENT_PILOT_SLACK_WEBHOOK: text(),
  INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: text(),
  INCIDENT_PILOT_OPSGENIE_API_KEY: text(),
  INCIDENT_PILOT_WEBHOOK_URL: text(),
  INCIDENT_PILOT_SLACK_BOT_TOKEN: text(),
  INCIDENT_PILOT_SLACK_CHANNEL: text(),
  INCIDENT_PILOT_SLACK_API_URL: text('https://slack.com/api'),
  INCIDENT_PILOT_QUIET: text(),
  INCIDENT_PILOT_LOG_LEVEL: text('info'),
  INCIDENT_PILOT_HEARTBEAT_MINUTES: text(),
  /** How often the local stack runs the heartbeat check (EventBridge Scheduler: every minute). */
  INCIDENT_PILOT_HEARTBEAT_CHECK_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
});

/** How long a stop may take before the process exits anyway (a hung socket must not keep the port). */
const STOP_TIMEOUT_MS = 10_000;

let stack: LocalStack | undefined;
let stopping = false;

async function shutdown(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  // Started or not, stop within bounds; a stack still starting is stopped once it is up (see main).
  setTimeout(() => {
    console.error(`incident-pilot: could not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
    process.exit(1);
  }, STOP_TIMEOUT_MS).unref();
  if (!stack) return;
  console.log(`\n${signal}: stopping…`);
  await stack.stop();
  console.log('stopped');
  process.exit(0);
}

async function main() {
  // Developers may run Node 20 locally (Lambda runs 24); the SDK's upgrade notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Before anything listens: a signal during start-up must still release ports and the data directory.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  const parsed = localEnv.safeParse(setVariables(process.env));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`invalid ${issue.path.join('.')}: ${issue.message}`);
    process.exit(1);
  }
  const env = parsed.data;
  const dataDir = resolve(env.INCIDENT_PILOT_DATA_DIR);
  stack = await startLocalStack({
    port: env.PORT,
    host: env.INCIDENT_PILOT_HOST,
    dynamoPort: env.INCIDENT_PILOT_DYNAMODB_PORT,
    sqsPort: env.INCIDENT_PILOT_SQS_PORT,
    heartbeatIntervalMs: env.INCIDENT_PILOT_HEARTBEAT_CHECK_SECONDS * 1000,
    dataDir,
    env: { INCIDENT_PILOT_LOG_LEVEL: env.INCIDENT_PILOT_LOG_LEVEL },
    onError: (error) => console.error('poller:', error instanceof Error ? error.message : error),
  });
  if (stopping) {
    await stack.stop();
    process.exit(0);
  }
  const heartbeat = Number(env.INCIDENT_PILOT_HEARTBEAT_MINUTES) || 0;
  const lines = [
    'incident-pilot local stack',
    `  API        ${stack.url}   (POST /alerts, POST /context/{deploys,logs,traces}, GET /api/incidents, GET /api/stats, GET /api/rules, GET /openapi.json)`,
    `  data       ${dataDir}   (DynamoDB on dynalite; the job queue is in memory)`,
    `  incidents  ${stack.incidents} stored`,
    `  emulators  DynamoDB ${stack.emulators.dynamoEndpoint}, SQS ${stack.emulators.sqsEndpoint}`,
    `  Slack      ${env.INCIDENT_PILOT_SLACK_WEBHOOK ? 'on' : 'off (set INCIDENT_PILOT_SLACK_WEBHOOK to post incidents to Slack)'}`,
    `  Slack app  ${
      env.INCIDENT_PILOT_SLACK_BOT_TOKEN
        ? `on: channel ${env.INCIDENT_PILOT_SLACK_CHANNEL} via ${env.INCIDENT_PILOT_SLACK_API_URL}; interactivity URL ${stack.url}/slack/interactions`
        : 'off (set INCIDENT_PILOT_SLACK_BOT_TOKEN, _CHANNEL and _SIGNING_SECRET for one message per incident with buttons)'
    }`,
    `  PagerDuty  ${env.INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY ? 'on' : 'off (set INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY)'}`,
    `  Opsgenie   ${env.INCIDENT_PILOT_OPSGENIE_API_KEY ? 'on' : 'off (set INCIDENT_PILOT_OPSGENIE_API_KEY)'}`,
    `  webhook    ${env.INCIDENT_PILOT_WEBHOOK_URL ? 'on (signed)' : 'off (set INCIDENT_PILOT_WEBHOOK_URL and INCIDENT_PILOT_WEBHOOK_SECRET)'}`,
    `  stdout     ${['1', 'true'].includes(env.INCIDENT_PILOT_QUIET) ? 'quiet' : 'incident reports are printed here'}`,
    `  logs       ${env.INCIDENT_PILOT_LOG_LEVEL} (one JSON line per request and per job)`,
    `  heartbeat  ${heartbeat > 0 ? `an incident after ${heartbeat} min without a heartbeat alert` : 'off (set INCIDENT_PILOT_HEARTBEAT_MINUTES)'}`,
  ];
  lines.push(
    `  re-drive   npx tsx scripts/redrive-dlq.ts --endpoint ${stack.emulators.sqsEndpoint} --dlq-url ${stack.dlqUrl} --queue-url ${stack.queueUrl}`,
  );
  if (stack.requeued > 0)
    lines.push(
      `  recovered  ${stack.requeued} group(s) re-queued (unprocessed alerts, open or recently resolved incidents, delayed jobs)`,
    );
  console.log(lines.join('\n'));
  if (!env.INCIDENT_PILOT_TOKEN) {
    console.warn(
      '\n  !!! AUTH IS OFF: anyone who can reach this port can post alerts and read incidents.\n' +
        '  !!! Set INCIDENT_PILOT_TOKEN=<secret> to require "Authorization: Bearer <secret>".\n',
    );
  }
  if (!isLoopback(env.INCIDENT_PILOT_HOST)) {
    console.warn(
      `  !!! The emulators listen on ${env.INCIDENT_PILOT_HOST} too, and have no authentication: ` +
        'anyone who can reach them can read and change the data.\n',
    );
  }
  console.log('Ready. Ctrl-C to stop.');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

main().catch((error) => {
  // What the user can fix (a busy port, a locked data directory) is said in one line, without a stack.
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    error instanceof LocalStartError ? `incident-pilot: ${message}` : `incident-pilot failed to start: ${message}`,
  );
  process.exit(1);
});
