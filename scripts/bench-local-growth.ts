/**
 * Memory and disk of the local stack under a steady flow of alerts: one-alert webhooks into a fixed
 * number of groups (each group keeps growing), in batches, printing after every batch, once the queue
 * has drained: the process RSS, the live JS heap (after a full GC), memory outside the heap held by JS
 * objects (external), the size of the data directory, the LevelDB iterators dynalite holds open and
 * the jobs in the queue (fauxqs keeps them in memory).
 *
 *   npx tsx scripts/bench-local-growth.ts [--alerts 6000] [--groups 30] [--batch 1000] [--concurrency 10]
 *     [--alert-ttl-days 30] [--sweep-seconds 600] [--idle-seconds 0]
 *
 * `--idle-seconds` adds a row after that long without traffic, then the items left in each table. A
 * short `--alert-ttl-days` (0.0002 is 17 s) with a short `--sweep-seconds` shows the data table held
 * by the retention: alert records expire and the local TTL sweep deletes them (overflow alerts are kept
 * as their incident is).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { openDynaliteIterators } from '../packages/local/src/dynalite-iterators.js';
import { startLocalStack } from '../packages/local/src/stack.js';

// Developers may run Node 20 locally (Lambda runs 24); the SDK's upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A full GC before each reading, so the heap column is live data rather than uncollected garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { values } = parseArgs({
  options: {
    alerts: { type: 'string', default: '6000' },
    groups: { type: 'string', default: '30' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '10' },
    'alert-ttl-days': { type: 'string', default: '30' },
    'sweep-seconds': { type: 'string', default: '600' },
    'idle-seconds': { type: 'string', default: '0' },
  },
});
function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer, not "${raw}"`);
    process.exit(1);
  }
  return value;
}
const alerts = positiveInt('alerts', values.alerts);
const groups = positiveInt('groups', values.groups);
const batch = positiveInt('batch', values.batch);
const concurrency = positiveInt('concurrency', values.concurrency);
const sweepSeconds = positiveInt('sweep-seconds', values['sweep-seconds']);
const idleSeconds = values['idle-seconds'] === '0' ? 0 : positiveInt('idle-seconds', values['idle-seconds']);
const alertTtlDays = Number(values['alert-ttl-days']);
if (!(alertTtlDays > 0)) {
  console.error(`--alert-ttl-days must be a positive number, not "${values['alert-ttl-days']}"`);
  process.exit(1);
}

const dirSize = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? dirSize(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const dataDir = mkdtempSync(join(tmpdir(), 'incident-pilot-growth-'));
const stack = await startLocalStack({
  dataDir,
  ttlSweepIntervalMs: sweepSeconds * 1000,
  env: {
    INCIDENT_PILOT_QUIET: '1',
    INCIDENT_PILOT_LOG_LEVEL: 'error',
    INCIDENT_PILOT_ALERT_TTL_DAYS: String(alertTtlDays),
  },
});
const post = (body: unknown) =>
  fetch(`${stack.url}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const stats = async () => (await (await fetch(`${stack.url}/api/stats`)).json()) as { alertsReceived: number };

async function countItems(tableName: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await stack.emulators.dynamoClient.send(
      new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: start }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/** Waits until every incident holds the alerts sent so far (the worker has caught up). */
async function settle(sent: number, deadline: number): Promise<void> {
  for (;;) {
    let onIncidents = 0;
    let cursor: string | undefined;
    do {
      const page = (await (
        await fetch(`${stack.url}/api/incidents?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      ).json()) as { incidents: { alertCount: number }[]; cursor?: string };
      onIncidents += page.incidents.reduce((n, i) => n + i.alertCount, 0);
      cursor = page.cursor;
    } while (cursor);
    if (onIncidents >= sent || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Jobs in the queue: waiting, being worked on, or delayed. */
async function queuedJobs(): Promise<number> {
  const { Attributes = {} } = await stack.emulators.sqsClient.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((n, v) => n + Number(v), 0);
}

async function report(label: string) {
  const jobs = await queuedJobs();
  gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  console.log(
    `${label.padStart(6)}  ${mb(rss).padEnd(8)} ${mb(heapUsed).padEnd(8)} ${mb(external).padEnd(8)} ${mb(dirSize(dataDir)).padEnd(10)} ${String(openDynaliteIterators()).padEnd(10)} ${jobs}`,
  );
}

console.log(
  `alerts  RSS      heap     external data dir  iterators  queued jobs   (one-alert webhooks into ${groups} groups)`,
);
const started = Date.now();
for (let sent = 0; sent < alerts; ) {
  const end = Math.min(alerts, sent + batch);
  let next = sent;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < end; i = next++) {
        const group = i % groups;
        const res = await post({
          version: '4',
          groupKey: `{}:{alertname="Growth${group}"}`,
          status: 'firing',
          receiver: 'bench',
          groupLabels: { alertname: `Growth${group}` },
          commonLabels: { alertname: `Growth${group}`, service: `svc-${group}` },
          commonAnnotations: {},
          externalURL: '',
          truncatedAlerts: 0,
          alerts: [
            {
              status: 'firing',
              labels: { alertname: `Growth${group}`, service: `svc-${group}`, instance: `host-${i}` },
              annotations: { summary: `instance host-${i} is failing` },
              startsAt: new Date(started).toISOString(),
              endsAt: '0001-01-01T00:00:00Z',
              generatorURL: '',
              fingerprint: (0x1000000 + i).toString(16),
            },
          ],
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`POST /alerts answered ${res.status}`);
      }
    }),
  );
  sent = end;
  await settle(sent, Date.now() + 120_000);
  await report(String(sent));
}
console.log(`received ${(await stats()).alertsReceived} alerts in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (idleSeconds > 0) {
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  await report('idle');
}
console.log(
  `items: data table ${await countItems(stack.emulators.tableName)}, incidents table ${await countItems(stack.emulators.incidentsTableName)}`,
);
await stack.stop();
rmSync(dataDir, { recursive: true, force: true });
