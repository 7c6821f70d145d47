/**
 * An Alertmanager-style alert storm: N alerts in G groups, delivered as Alertmanager would (growing
 * notifications, HA duplicates, re-sends, repeats) with bounded concurrency; then waits until every
 * incident is complete and prints the figures. Exits 1 when an invariant fails (an alert lost, a
 * second incident or notification for a group, a 4xx, a job in the dead-letter queue…).
 *
 *   npx tsx scripts/storm.ts [--alerts 5000] [--groups 50] [--concurrency 20] [--seed 1]
 *                            [--url http://127.0.0.1:9099] [--token T] [--timeout 180]
 *
 * Without --url it starts its own local stack in this process (in memory, stdout sink quiet, a fake
 * Slack on 127.0.0.1 counting notifications). With --url it targets a running `npm start`.
 */
import { formatReport, runStorm } from '../packages/local/src/storm.js';
import { type StormTarget, startStormTarget } from '../packages/local/src/storm-target.js';
import { describeError, parseArgsOrExit } from './lib/cli.js';

const usage =
  'usage: npx tsx scripts/storm.ts [--alerts 5000] [--groups 50] [--concurrency 20] [--seed 1] ' +
  '[--url http://127.0.0.1:9099] [--token T] [--timeout 180] [--quiet]';

const { values } = parseArgsOrExit(
  {
    options: {
      alerts: { type: 'string', default: '5000' },
      groups: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      url: { type: 'string' },
      token: { type: 'string' },
      timeout: { type: 'string', default: '180' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  usage,
);
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer, got "${raw}"\n${usage}`);
    process.exit(1);
  }
  return value;
}
const alerts = positiveInt('alerts', values.alerts);
const groups = positiveInt('groups', values.groups);
const concurrency = positiveInt('concurrency', values.concurrency);
const seed = positiveInt('seed', values.seed);
const timeoutS = positiveInt('timeout', values.timeout);
if (alerts < groups) {
  console.error(`--alerts (${alerts}) must be at least --groups (${groups})`);
  process.exit(1);
}

// Developers may run Node 20 locally (Lambda runs 24); the SDK's upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const log = values.quiet ? () => {} : (line: string) => console.error(line);

let target: StormTarget | undefined;
let exitCode = 1;
try {
  if (!values.url) {
    log('starting a local stack in this process (in memory, fake Slack)…');
    target = await startStormTarget(values.token ? { token: values.token } : {});
  }
  const report = await runStorm({
    alerts,
    groups,
    concurrency,
    seed,
    url: (values.url ?? target?.url ?? '').replace(/\/+$/, ''),
    token: values.token ?? target?.token,
    settleTimeoutMs: timeoutS * 1000,
    ...(target ? { queueDepth: target.queueDepth, dlqDepth: target.dlqDepth } : {}),
    ...(target ? { openedNotifications: target.openedNotifications } : {}),
    log,
  });
  console.log(formatReport(report, target ? 'local stack (in-process, in-memory)' : (values.url ?? '')));
  exitCode = report.failures.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`storm failed: ${describeError(error)}`);
} finally {
  await target?.stop();
}
process.exit(exitCode);
