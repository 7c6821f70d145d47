/** `npm start`: the whole pipeline on this machine, no cloud account, no Docker. */
import { resolve } from 'node:path';
import * as z from 'zod';
import { startLocalStack } from './stack.js';

const localEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(9099),
  INCIDENT_PILOT_HOST: z.string().default('127.0.0.1'),
  INCIDENT_PILOT_DATA_DIR: z.string().min(1).default('.data'),
  INCIDENT_PILOT_TOKEN: z.string().default(''),
  INCIDENT_PILOT_SLACK_WEBHOOK: z.string().default(''),
  INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY: z.string().default(''),
  INCIDENT_PILOT_OPSGENIE_API_KEY: z.string().default(''),
  INCIDENT_PILOT_WEBHOOK_URL: z.string().default(''),
  INCIDENT_PILOT_SLACK_BOT_TOKEN: z.string().default(''),
  INCIDENT_PILOT_SLACK_CHANNEL: z.string().default(''),
  INCIDENT_PILOT_SLACK_API_URL: z.string().default('https://slack.com/api'),
  INCIDENT_PILOT_QUIET: z.string().default(''),
  INCIDENT_PILOT_LOG_LEVEL: z.string().default('warn'),
});

async function main() {
  // Developers may run Node 20 locally (Lambda runs 24); the SDK's upgrade notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const parsed = localEnv.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`invalid ${issue.path.join('.')}: ${issue.message}`);
    process.exit(1);
  }
  const env = parsed.data;
  const dataDir = resolve(env.INCIDENT_PILOT_DATA_DIR);
  const stack = await startLocalStack({
    port: env.PORT,
    host: env.INCIDENT_PILOT_HOST,
    dataDir,
    env: { INCIDENT_PILOT_LOG_LEVEL: env.INCIDENT_PILOT_LOG_LEVEL },
    onError: (error) => console.error('poller:', error instanceof Error ? error.message : error),
  });
  const lines = [
    'incident-pilot local stack',
    `  API        ${stack.url}   (POST /alerts, POST /context/{deploys,logs,traces}, GET /api/incidents, GET /api/stats, GET /api/rules)`,
    `  data       ${dataDir}   (DynamoDB on dynalite; the job queue is in memory)`,
    `  Slack      ${env.INCIDENT_PILOT_SLACK_WEBHOOK ? 'on' : 'off (set INCIDENT_PILOT_SLACK_WEBHOOK to post incidents to Slack)'}`,
    `  Slack app  ${
      env.INCIDENT_PILOT_SLACK_BOT_TOKEN
        ? `on: channel ${env.INCIDENT_PILOT_SLACK_CHANNEL} via ${env.INCIDENT_PILOT_SLACK_API_URL}; interactivity URL ${stack.url}/slack/interactions`
        : 'off (set INCIDENT_PILOT_SLACK_BOT_TOKEN, _CHANNEL and _SIGNING_SECRET for one message per incident with buttons)'
    }`,
    `  PagerDuty  ${env.INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY ? 'on' : 'off (set INCIDENT_PILOT_PAGERDUTY_ROUTING_KEY)'}`,
    `  Opsgenie   ${env.INCIDENT_PILOT_OPSGENIE_API_KEY ? 'on' : 'off (set INCIDENT_PILOT_OPSGENIE_API_KEY)'}`,
    `  webhook    ${env.INCIDENT_PILOT_WEBHOOK_URL ? 'on (signed)' : 'off (set INCIDENT_PILOT_WEBHOOK_URL and INCIDENT_PILOT_WEBHOOK_SECRET)'}`,
    `  stdout     ${env.INCIDENT_PILOT_QUIET === '1' ? 'quiet' : 'incident reports are printed here'}`,
  ];
  lines.push(
    `  re-drive   npx tsx scripts/redrive-dlq.ts --endpoint ${stack.emulators.sqsEndpoint} --dlq-url ${stack.dlqUrl} --queue-url ${stack.queueUrl}`,
  );
  if (stack.requeued > 0)
    lines.push(
      `  recovered  ${stack.requeued} group(s) re-queued (unprocessed alerts, open or recently resolved incidents)`,
    );
  console.log(lines.join('\n'));
  if (!env.INCIDENT_PILOT_TOKEN) {
    console.warn(
      '\n  !!! AUTH IS OFF: anyone who can reach this port can post alerts and read incidents.\n' +
        '  !!! Set INCIDENT_PILOT_TOKEN=<secret> to require "Authorization: Bearer <secret>".\n',
    );
  }
  console.log('Ready. Ctrl-C to stop.');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await stack.stop();
    console.log(`stopped; data kept in ${dataDir}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(`incident-pilot failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
