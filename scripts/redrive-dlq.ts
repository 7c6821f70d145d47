/**
 * Moves correlation jobs from the dead-letter queue back to the job queue, after the cause (a sink
 * that was down, a bad secret) is fixed. Works against AWS (credentials and region from the usual
 * AWS environment) and against the local stack (pass the --endpoint it prints at start).
 *
 *   npx tsx scripts/redrive-dlq.ts --dlq-url <url> --queue-url <url> [--endpoint <url>] [--max N]
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { redriveDlq } from '@incident-pilot/aws';
import { describeError, parseArgsOrExit } from './lib/cli.js';

const usage = 'usage: npx tsx scripts/redrive-dlq.ts --dlq-url <url> --queue-url <url> [--endpoint <url>] [--max N]';
const { values } = parseArgsOrExit(
  {
    options: {
      'dlq-url': { type: 'string' },
      'queue-url': { type: 'string' },
      endpoint: { type: 'string' },
      max: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  },
  usage,
);
if (values.help || !values['dlq-url'] || !values['queue-url']) {
  console.error(usage);
  process.exit(values.help ? 0 : 1);
}
const max = values.max ? Number(values.max) : undefined;
if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
  console.error(`--max must be a positive integer, got "${values.max}"`);
  process.exit(1);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const local = values.endpoint !== undefined;
try {
  const client = new SQSClient({
    useQueueUrlAsEndpoint: false,
    ...(local
      ? {
          endpoint: values.endpoint,
          region: process.env.AWS_REGION ?? 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
  });
  const moved = await redriveDlq({
    client,
    sourceQueueUrl: values['dlq-url'] as string,
    targetQueueUrl: values['queue-url'] as string,
    ...(max ? { max } : {}),
  });
  console.log(`moved ${moved} job(s) from the dead-letter queue back to the job queue`);
} catch (error) {
  // An unreachable endpoint, missing credentials, a wrong queue URL: one line, not a stack trace.
  console.error(`redrive-dlq failed: ${describeError(error)}`);
  process.exit(1);
}
