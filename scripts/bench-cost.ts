/**
 * What an alert costs in AWS: runs the local stack with every DynamoDB request billed by a metering
 * proxy (write and read units as on-demand bills them, index writes and failed conditional writes
 * included) and every SQS request counted, and prints requests and units per operation and per alert,
 * and dollars per million alerts at us-east-1 list prices, for three workloads:
 *
 * - lifecycle: 100 alerts in 10 groups as Alertmanager delivers them — each group's notification
 *   growing (1, 3, 6, 10 alerts), the last one sent twice (an HA peer), then all resolved;
 * - storm: 5,000 alerts in 50 groups (growing notifications, HA duplicates, re-sends, a repeat);
 * - context: one alert whose service got 10 log lines and a deploy, fired and resolved.
 *
 * Notifications go to the Slack app (a stand-in on 127.0.0.1). Each step waits until the queue is
 * empty and the store quiet, as if group_interval had passed; refreshes and updates are not rate
 * limited (INCIDENT_PILOT_REFRESH_SECONDS=0, INCIDENT_PILOT_UPDATE_MIN_SECONDS=0), which is what
 * notifications minutes apart meet in AWS. Log volume is what the functions write plus ~300 bytes of
 * platform lines per invocation.
 *
 * Lambda time cannot be measured here: dynalite runs in the same process as the functions and takes
 * most of the CPU (the time from a received batch to the next receive is printed as "measured", an
 * overestimate). It is modelled instead, as an upper bound: every DynamoDB and SQS request made by a
 * function waits 6 ms and every Slack call 150 ms, one after the other (the worker overlaps many), plus
 * the time workers slept to space posts to one channel (see pacedMs), at the worker's 512 MB, plus 1 ms
 * per invocation.
 *
 *   npx tsx scripts/bench-cost.ts [--only lifecycle|storm|context] [--detail]
 */

import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { tableDefinitions } from '@incident-pilot/aws';
import { fingerprintOf } from '@incident-pilot/core';
import { LOCAL_TABLE_NAMES } from '../packages/local/src/emulators.js';
import { type LocalStack, startLocalStack } from '../packages/local/src/stack.js';
import { planStorm } from '../packages/local/src/storm-plan.js';
import { startSlackApi } from '../test/helpers/slack-api.js';
import { type DynamoMeter, meterSqs, type OperationCount, startDynamoMeter } from './lib/meter.js';

const { values } = parseArgs({
  options: { only: { type: 'string' }, detail: { type: 'boolean', default: false } },
});

/** us-east-1 list prices. */
const PRICE = {
  httpApiRequest: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  sqsRequest: 0.4 / 1e6,
  wru: 0.625 / 1e6,
  rru: 0.125 / 1e6,
  logGb: 0.5,
};
/** The worker's memory as the stack sets it (GB); the HTTP functions have half, billed here as the same. */
const WORKER_GB = 512 / 1024;
const PLATFORM_LOG_BYTES = 300;
/** Modelled waits in AWS (see above). */
const LATENCY_MS = { aws: 6, slack: 150 };

// --- The stack, metered ----------------------------------------------------------------------------

const kindOf = (table: string, key: Record<string, { S?: string }>): string => {
  const pk = key.pk?.S ?? key.id?.S ?? '';
  const sk = key.sk?.S ?? '';
  if (table === LOCAL_TABLE_NAMES.incidentsTableName) return 'incident';
  if (pk.startsWith('G#')) {
    if (!sk) return 'group';
    if (sk.startsWith('A#')) return 'alert';
    if (sk.startsWith('P#')) return 'pending';
    if (sk.startsWith('M#')) return 'overflow';
    return sk.toLowerCase();
  }
  const prefixes: [string, string][] = [
    ['N#', 'marker'],
    ['C#', 'context'],
    ['S#', 'service link'],
    ['R#', 'rule'],
    ['STATS', 'stats'],
    ['HEARTBEAT', 'heartbeat'],
    ['SLACK', 'slack'],
  ];
  return prefixes.find(([p]) => pk.startsWith(p))?.[1] ?? (pk.split('#')[0] || 'other');
};

const meter = await startDynamoMeter(tableDefinitions(LOCAL_TABLE_NAMES), kindOf);
const sqs = meterSqs(['GetQueueAttributes']);
const slack = await startSlackApi({ token: 'xoxb-bench' });

/**
 * The Slack sink spaces posts to one channel (createChannelPacer), and a worker is billed while it waits.
 * Its sleeps are recorded as they start; the time any of them was running is what the workers waited.
 */
const paceWaits: [start: number, end: number][] = [];
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((handler: () => void, ms?: number, ...rest: unknown[]) => {
  if (ms && ms > 0 && /at pace \(.*slack-api/.test(new Error().stack ?? ''))
    paceWaits.push([Date.now(), Date.now() + ms]);
  return Reflect.apply(realSetTimeout, globalThis, [handler, ms, ...rest]);
}) as typeof setTimeout;
function pacedMs(): number {
  let total = 0;
  let until = 0;
  for (const [start, end] of [...paceWaits].sort((a, b) => a[0] - b[0])) {
    total += Math.max(0, end - Math.max(start, until));
    until = Math.max(until, end);
  }
  return total;
}

let logBytes = 0;
const realWrite = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
const print = (line = '') => realWrite.out(`${line}\n`);
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array) => {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof stream.write;
}

const stack: LocalStack = await startLocalStack({
  env: {
    AWS_ENDPOINT_URL_DYNAMODB: meter.endpoint,
    INCIDENT_PILOT_QUIET: '1',
    INCIDENT_PILOT_REFRESH_SECONDS: '0',
    INCIDENT_PILOT_UPDATE_MIN_SECONDS: '0',
    INCIDENT_PILOT_SLACK_BOT_TOKEN: 'xoxb-bench',
    INCIDENT_PILOT_SLACK_CHANNEL: 'C0BENCH',
    INCIDENT_PILOT_SLACK_API_URL: slack.url,
  },
});
meter.target = stack.emulators.dynamoEndpoint;

let httpRequests = 0;
let httpMs = 0;
let slackCallsBefore = 0;
async function post(path: string, body: unknown): Promise<void> {
  const started = Date.now();
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  httpMs += Math.max(1, Date.now() - started);
  httpRequests += 1;
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

let postsSettled = 0;
/**
 * Waits until no job is queued, in flight or delayed, and the store has been quiet for a moment; then,
 * as if group_interval had passed, until the Slack sink would no longer space a post to the channel
 * because of this step's (a second per post).
 */
async function settle(): Promise<void> {
  await drained();
  const posts = slack.calls.slice(postsSettled).filter((c) => c.method === 'chat.postMessage');
  postsSettled = slack.calls.length;
  const first = posts[0]?.at ?? 0;
  await new Promise((r) => setTimeout(r, Math.max(0, first + posts.length * 1000 - Date.now())));
}

async function drained(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { Attributes: a = {} } = await stack.emulators.sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['All'] }),
    );
    const pending =
      Number(a.ApproximateNumberOfMessages) +
      Number(a.ApproximateNumberOfMessagesNotVisible) +
      Number(a.ApproximateNumberOfMessagesDelayed);
    if (pending === 0 && Date.now() - meter.lastRequestAt > 700) return;
    if (Date.now() > deadline) throw new Error(`the pipeline did not settle: ${pending} job(s) left`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// --- Workloads ------------------------------------------------------------------------------------

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

function alertOf(service: string, alertname: string, i: number, startsAt: string) {
  const labels = {
    alertname,
    service,
    severity: 'critical',
    namespace: 'prod',
    pod: `${service}-7d9f8b6c5-${String(i).padStart(5, 'x')}`,
    instance: `10.0.${i >> 8}.${i & 255}:8080`,
    job: service,
  };
  return {
    status: 'firing',
    labels,
    annotations: {
      summary: `${alertname} on ${labels.pod}`,
      description: `${alertname}: the error ratio of ${service} has been above 5% for 5 minutes on ${labels.instance}.`,
      runbook_url: `https://runbooks.example.com/${alertname}`,
    },
    startsAt,
    endsAt: GO_ZERO_TIME,
    generatorURL: `http://prometheus-0:9090/graph?g0.expr=rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29&g0.tab=1`,
    fingerprint: fingerprintOf(labels),
  };
}

type Alert = ReturnType<typeof alertOf>;

function webhook(service: string, alertname: string, alerts: Alert[]) {
  const groupKey = `{}/{}:{alertname="${alertname}", service="${service}"}`;
  const firing = alerts.some((a) => a.status === 'firing');
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: firing ? 'firing' : 'resolved',
    receiver: 'incident-pilot',
    groupLabels: { alertname, service },
    commonLabels: { alertname, service, severity: 'critical', namespace: 'prod' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager-0:9093',
    alerts,
  };
}

const resolvedAt = (a: Alert): Alert => ({ ...a, status: 'resolved', endsAt: new Date().toISOString() });

/** 100 alerts in 10 groups: notifications of 1, 3, 6 and 10 alerts, the last twice, then all resolved. */
async function lifecycle(): Promise<number> {
  const run = Date.now().toString(36);
  const groups = Array.from({ length: 10 }, (_, g) => {
    const service = `checkout-${run}-${g}`;
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    return { service, alerts: Array.from({ length: 10 }, (_, i) => alertOf(service, 'HighErrorRate', i, startsAt)) };
  });
  const send = (pick: (alerts: Alert[]) => Alert[]) =>
    Promise.all(groups.map((g) => post('/alerts', webhook(g.service, 'HighErrorRate', pick(g.alerts)))));
  for (const size of [1, 3, 6, 10]) {
    await send((a) => a.slice(0, size));
    if (size === 10) await send((a) => a);
    await settle();
  }
  await send((a) => a.map(resolvedAt));
  await settle();
  return 100;
}

/** 5,000 alerts in 50 groups, delivered round by round as in `scripts/storm.ts`. */
async function storm(): Promise<number> {
  const plan = planStorm({ alerts: 5000, groups: 50, seed: 1 });
  for (const round of plan.rounds) {
    for (let i = 0; i < round.length; i += 20) {
      await Promise.all(round.slice(i, i + 20).map((d) => post('/alerts', d.body)));
    }
    await settle();
  }
  return plan.alerts;
}

/** One alert whose service got a deploy and 10 log lines, fired and resolved. */
async function context(): Promise<number> {
  const service = `payments-${Date.now().toString(36)}`;
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
  await post('/context/deploys', { service, when: at(8), commit: 'a1b2c3d', author: 'jane', message: 'v2.31.0' });
  await post(
    '/context/logs',
    Array.from({ length: 10 }, (_, i) => ({
      service,
      level: 'error',
      message: `payment authorisation failed: upstream timeout after ${3000 + i} ms (order ${1000 + i})`,
      timestamp: at(5 - i * 0.2),
    })),
  );
  await settle();
  const alert = alertOf(service, 'HighErrorRate', 1, at(4));
  await post('/alerts', webhook(service, 'HighErrorRate', [alert]));
  await settle();
  await post('/alerts', webhook(service, 'HighErrorRate', [resolvedAt(alert)]));
  await settle();
  return 1;
}

// --- The report -----------------------------------------------------------------------------------

const fmt = (n: number, digits = 2) => n.toFixed(digits).padStart(8);

function report(name: string, alerts: number, dynamo: DynamoMeter): void {
  const rows = [...dynamo.counts.entries()].sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce(
    (t, [, c]) => ({
      requests: t.requests + c.requests,
      wru: t.wru + c.wru,
      indexWru: t.indexWru + c.indexWru,
      rru: t.rru + c.rru,
      conditionFailed: t.conditionFailed + c.conditionFailed,
    }),
    { requests: 0, wru: 0, indexWru: 0, rru: 0, conditionFailed: 0 } as OperationCount,
  );
  const sqsRequests = [...sqs.counts.values()].reduce((a, b) => a + b, 0);
  const workerInvocations = sqs.counts.get('ReceiveMessage') ?? 0;
  const measuredMs = sqs.workerMs.reduce((a, b) => a + b, 0) + httpMs;
  const invocations = httpRequests + workerInvocations;
  // The event source mapping's receives and deletes are not a function's time.
  const functionSqs = sqsRequests - workerInvocations - (sqs.counts.get('DeleteMessageBatch') ?? 0);
  const slackCalls = slack.calls.length - slackCallsBefore;
  const paced = pacedMs();
  const modelMs = (total.requests + functionSqs) * LATENCY_MS.aws + slackCalls * LATENCY_MS.slack + paced + invocations;
  const logs = logBytes + invocations * PLATFORM_LOG_BYTES;
  const dollars = {
    'API Gateway': httpRequests * PRICE.httpApiRequest,
    Lambda: invocations * PRICE.lambdaRequest + (modelMs / 1000) * WORKER_GB * PRICE.lambdaGbSecond,
    SQS: sqsRequests * PRICE.sqsRequest,
    'DynamoDB writes': total.wru * PRICE.wru,
    'DynamoDB reads': total.rru * PRICE.rru,
    'CloudWatch Logs': (logs / 1024 ** 3) * PRICE.logGb,
  };
  const perMillion = (d: number) => (d / alerts) * 1e6;
  const sum = Object.values(dollars).reduce((a, b) => a + b, 0);

  print(`\n## ${name}: ${alerts} alert(s)`);
  if (values.detail) {
    print(`\n${'DynamoDB operation'.padEnd(34)}requests      WRU  (index)      RRU  failed`);
    for (const [op, c] of rows) {
      print(
        `${op.padEnd(34)}${fmt(c.requests, 0)} ${fmt(c.wru, 1)} ${fmt(c.indexWru, 1)} ${fmt(c.rru, 1)} ${fmt(c.conditionFailed, 0)}`,
      );
    }
    print(`SQS: ${[...sqs.counts.entries()].map(([op, n]) => `${op} ${n}`).join(', ')}`);
  }
  print('\nper alert:');
  print(`  DynamoDB requests ${fmt(total.requests / alerts)}`);
  print(`  WRU               ${fmt(total.wru / alerts)}   (index ${(total.indexWru / alerts).toFixed(2)})`);
  print(`  RRU               ${fmt(total.rru / alerts)}`);
  print(`  SQS requests      ${fmt(sqsRequests / alerts)}`);
  print(`  HTTP requests     ${fmt(httpRequests / alerts)}`);
  print(`  Lambda invocations${fmt(invocations / alerts)}`);
  print(`  Slack calls       ${fmt(slackCalls / alerts)}`);
  print(
    `  Lambda time       ${fmt(modelMs / alerts, 1)} ms modelled, ${(paced / alerts).toFixed(1)} of them paced (${(measuredMs / alerts).toFixed(1)} ms measured here)`,
  );
  print(`  log bytes         ${fmt(logs / alerts, 0)}`);
  print('\n$ per million alerts:');
  for (const [what, d] of Object.entries(dollars)) print(`  ${what.padEnd(18)}${fmt(perMillion(d))}`);
  print(`  ${'total'.padEnd(18)}${fmt(perMillion(sum))}`);
}

const workloads = { lifecycle, storm, context } as const;
const chosen = values.only ? [values.only] : Object.keys(workloads);
try {
  for (const name of chosen) {
    const run = workloads[name as keyof typeof workloads];
    if (!run) throw new Error(`--only takes ${Object.keys(workloads).join(', ')}`);
    await settle();
    meter.reset();
    sqs.reset();
    httpRequests = 0;
    httpMs = 0;
    logBytes = 0;
    slackCallsBefore = slack.calls.length;
    paceWaits.length = 0;
    const alerts = await run();
    report(name, alerts, meter);
  }
} finally {
  await stack.stop();
  await meter.close();
  await slack.close();
  sqs.stop();
}
