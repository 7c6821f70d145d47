/**
 * Latency of the rule engine: `correlate()` with the real rule registry and the default engine config, on
 * the context the worker would load for one alerting service.
 *
 *   npx tsx scripts/bench-engine.ts [--lines 1000,10000,100000] [--traces 1000] [--deploys 100] [--seed 1]
 *
 * For each log volume it builds one input the way `correlateGroup` in the worker does: an alert group of
 * one firing alert, the context of `contextWindowOf` (logs: the 60 min baseline, the 15 min window and the
 * minutes up to the moment of correlation, 2 min after the alert's start; traces and deploys: their rules'
 * windows), oldest first as the store returns it, and four open incidents (one a duplicate). Logs are all
 * of the alerting service (the store keeps one partition per service): 5 % TRACE, 35 % DEBUG, 45 % INFO,
 * 8 % WARN, about 7 % ERROR or CRITICAL from four recurring patterns, plus 3 % a new pattern (a connection
 * pool exhausted) from 4 min before the alert's start. Traces are log-normal around 120 ms (p99 above the
 * 1 s threshold), deploys spread over their window. A seeded generator makes every run measure the same input.
 *
 * Each volume is correlated a fifth as many times as it is measured to warm up, then timed call by call
 * (2,000 calls at 1k lines, 500 at 10k, 50 at 100k): it prints the median and p95 of one call, then the
 * median time inside each rule's `evaluate` from as many calls again (the error analysis two rules share
 * counts in the first that asks for it). The load average is printed too: the figures are wall-clock time.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { contextWindowOf, defaultEngineConfig } from '../packages/core/src/config.js';
import { correlate } from '../packages/core/src/engine/engine.js';
import type { Rule } from '../packages/core/src/engine/rule.js';
import { rules } from '../packages/core/src/rules/registry.js';
import type { AlertGroup } from '../packages/core/src/schemas/alertmanager.js';
import {
  type ContextWindow,
  type Deploy,
  isErrorLevel,
  type LogLevel,
  type LogLine,
  type Trace,
} from '../packages/core/src/schemas/context.js';
import type { OpenIncidentRef } from '../packages/core/src/schemas/incident.js';
import { prng as random } from '../packages/local/src/storm-plan.js';

const usage =
  'usage: npx tsx scripts/bench-engine.ts [--lines 1000,10000,100000] [--traces 1000] [--deploys 100] [--seed 1]';
const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000,10000,100000' },
    traces: { type: 'string', default: '1000' },
    deploys: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
  },
});

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, not ${JSON.stringify(text)}\n${usage}`);
    process.exit(2);
  }
  return n;
}

const volumes = values.lines.split(',').map((v) => count('lines', v.trim()));
const traceCount = count('traces', values.traces);
const deployCount = count('deploys', values.deploys);
const seed = count('seed', values.seed);

const MINUTE = 60_000;
const SERVICE = 'checkout';
const ALERTNAME = 'HighErrorRate';
const STARTS_AT = '2026-11-25T04:00:00.000Z';
const START = Date.parse(STARTS_AT);
/** The worker's moment of correlation: a refresh shortly after the alert's start. */
const CORRELATED_AT = START + 2 * MINUTE;
const config = defaultEngineConfig;
const ranges = contextWindowOf(config, START, CORRELATED_AT);

type Make = (n: (max: number) => number) => string;
const hex = (n: (max: number) => number, length: number) =>
  Array.from({ length }, () => '0123456789abcdef'[n(16)]).join('');
const ip = (n: (max: number) => number) => `10.${n(4)}.${n(256)}.${n(256)}`;
const ROUTES = ['/v1/cart', '/v1/checkout', '/v1/orders', '/v1/payments', '/v1/shipping/quote', '/healthz'];
const CLIENTS = ['web', 'ios', 'android', 'partner-api'];
const QUERIES = ['load_cart', 'reserve_stock', 'insert_order', 'update_payment'];

/** Everyday lines: requests, cache, background jobs. */
const ROUTINE: Make[] = [
  (n) => `GET ${ROUTES[n(ROUTES.length)]} 200 in ${n(80)} ms request_id=${hex(n, 16)}`,
  (n) => `POST ${ROUTES[n(ROUTES.length)]} 201 in ${n(200)} ms request_id=${hex(n, 16)}`,
  (n) => `cache ${n(4) ? 'hit' : 'miss'} for key cart:${n(1e6)}`,
  (n) => `published event order.${['created', 'paid', 'shipped'][n(3)]} id=${n(1e7)}`,
  (n) => `refreshed exchange rates (${n(40)} currencies) in ${n(900)} ms`,
  (n) => `client ${CLIENTS[n(CLIENTS.length)]} opened connection from ${ip(n)}`,
];
const WARNINGS: Make[] = [
  (n) => `slow query ${QUERIES[n(QUERIES.length)]} took ${500 + n(1500)} ms`,
  (n) => `retrying call to inventory after ${n(300)} ms (attempt ${1 + n(3)})`,
];
/** The service's chronic errors: in the baseline and the window alike. */
const CHRONIC: Make[] = [
  (n) => `upstream timeout calling inventory at ${ip(n)}:8080 after ${n(5000)} ms request_id=${hex(n, 16)}`,
  (n) => `failed to refresh token for client ${CLIENTS[n(CLIENTS.length)]}: 401 Unauthorized`,
  (n) => `payment declined for order ${n(1e7)}: ${['card_expired', 'insufficient_funds', 'do_not_honor'][n(3)]}`,
  (n) => `connection reset by peer while reading from ${ip(n)}:5432`,
];
/** The incident: a pattern never seen in the baseline. */
const SPIKE: Make = (n) =>
  `database connection pool exhausted (max=50, waiting=${n(400)}) running ${QUERIES[n(QUERIES.length)]} request_id=${hex(n, 16)}`;

function logsOf(total: number, rand: () => number): LogLine[] {
  const n = (max: number) => Math.floor(rand() * max);
  const from = ranges.logs.fromMs;
  const to = ranges.logs.toMs;
  const onset = START - 4 * MINUTE;
  // 3 % of the lines are the spike, between its onset and the moment of correlation.
  const spike = Math.round(total * 0.03);
  const lines: { ms: number; line: LogLine }[] = [];
  const line = (ms: number, level: LogLevel, message: string) =>
    lines.push({ ms, line: { service: SERVICE, level, message, timestamp: new Date(ms).toISOString() } });
  for (let i = 0; i < total - spike; i++) {
    const ms = from + n(to - from + 1);
    const r = rand();
    if (r < 0.05) line(ms, 'TRACE', (ROUTINE[n(ROUTINE.length)] as Make)(n));
    else if (r < 0.4) line(ms, 'DEBUG', (ROUTINE[n(ROUTINE.length)] as Make)(n));
    else if (r < 0.85) line(ms, 'INFO', (ROUTINE[n(ROUTINE.length)] as Make)(n));
    else if (r < 0.93) line(ms, 'WARN', (WARNINGS[n(WARNINGS.length)] as Make)(n));
    else line(ms, r < 0.995 ? 'ERROR' : 'CRITICAL', (CHRONIC[n(CHRONIC.length)] as Make)(n));
  }
  for (let i = 0; i < spike; i++) line(onset + n(to - onset + 1), 'ERROR', SPIKE(n));
  // Oldest first, as the store returns them.
  return lines.sort((a, b) => a.ms - b.ms).map(({ line }) => line);
}

function tracesOf(total: number, rand: () => number): Trace[] {
  const { fromMs, toMs } = ranges.traces;
  const traces = Array.from({ length: total }, () => {
    const ms = fromMs + Math.floor(rand() * (toMs - fromMs + 1));
    // Log-normal around 120 ms, with a slow tail past the 1 s threshold.
    const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const durationMs = Math.round(Math.exp(Math.log(120) + normal) * 1000) / 1000;
    const traceId = Math.floor(rand() * 2 ** 52).toString(16);
    return { ms, trace: { traceId, service: SERVICE, durationMs, timestamp: new Date(ms).toISOString() } };
  });
  return traces.sort((a, b) => a.ms - b.ms).map(({ trace }) => trace);
}

function deploysOf(total: number, rand: () => number): Deploy[] {
  const { fromMs, toMs } = ranges.deploys;
  const authors = ['dana', 'lee', 'sam', 'kim', 'ravi'];
  return Array.from({ length: total }, () => fromMs + Math.floor(rand() * (toMs - fromMs + 1)))
    .sort((a, b) => a - b)
    .map((ms) => ({
      service: SERVICE,
      commit: Math.floor(rand() * 2 ** 28).toString(16),
      author: authors[Math.floor(rand() * authors.length)],
      when: new Date(ms).toISOString(),
      message: 'Bump connection pool settings',
    }));
}

function openIncidents(): OpenIncidentRef[] {
  const ref = (i: number, service: string, alertname: string): OpenIncidentRef => ({
    id: `inc-${i}`,
    service,
    alertname,
    fingerprints: [`f${String(i).repeat(15)}`],
    groupKey: `{}:{alertname="${alertname}", service="${service}"}#${i}`,
    status: 'open',
    openedAt: new Date(START - i * 17 * MINUTE).toISOString(),
  });
  // One covers the same service and alertname: a duplicate.
  return [
    ref(1, SERVICE, ALERTNAME),
    ref(2, 'search', 'HighLatency'),
    ref(3, 'payments', 'HighErrorRate'),
    ref(4, SERVICE, 'PodCrashLooping'),
  ];
}

function alertGroup(): AlertGroup {
  const labels = { alertname: ALERTNAME, service: SERVICE, severity: 'warning' };
  return {
    groupKey: `{}:{alertname="${ALERTNAME}", service="${SERVICE}"}`,
    status: 'firing',
    receiver: 'incident-pilot',
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    groupLabels: { alertname: ALERTNAME, service: SERVICE },
    commonLabels: labels,
    commonAnnotations: { summary: 'More than 5 % of checkout requests fail' },
    alerts: [
      {
        fingerprint: 'c0ffee0123456789',
        status: 'firing',
        startsAt: STARTS_AT,
        endsAt: null,
        labels,
        annotations: {},
        generatorURL: 'http://prometheus:9090/graph',
        service: SERVICE,
        alertname: ALERTNAME,
      },
    ],
  };
}

const ascending = (a: number, b: number) => a - b;

/** Value at quantile q of ascending `sorted` (nearest rank). */
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

/** Runs `correlate` as the worker does, timing the whole call and each rule's `evaluate`. */
function measure(context: ContextWindow, iterations: number, warmup: number) {
  const perRule = new Map<string, number[]>(rules.map((r) => [r.id, []]));
  let recording = false;
  const timed: Rule[] = rules.map((rule) => ({
    ...rule,
    evaluate(ctx) {
      const t0 = performance.now();
      const findings = rule.evaluate(ctx);
      if (recording) perRule.get(rule.id)?.push(performance.now() - t0);
      return findings;
    },
  }));
  const group = alertGroup();
  const open = openIncidents();
  const run = (ruleSet: readonly Rule[]) =>
    correlate({ group, context, openIncidents: open, config, rules: ruleSet, at: CORRELATED_AT });
  for (let i = 0; i < warmup; i++) run(rules);
  const totals: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    run(rules);
    totals.push(performance.now() - t0);
  }
  // Per-rule figures come from separate runs, so the wrapper does not weigh on the totals.
  recording = true;
  for (let i = 0; i < iterations; i++) run(timed);
  const findings = run(rules).findings.map((f) => `${f.ruleId} ${f.severity}`);
  totals.sort(ascending);
  const rulesMedian = new Map([...perRule].map(([id, ts]) => [id, quantile(ts.sort(ascending), 0.5)]));
  return { median: quantile(totals, 0.5), p95: quantile(totals, 0.95), rulesMedian, findings };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const load = () => loadavg()[0]?.toFixed(1);
console.log(
  `correlate(): ${traceCount} traces, ${deployCount} deploys, 4 open incidents, default engine config; Node ${process.version}, ${cpus().length} CPUs, load average ${load()}`,
);
const ruleIds = rules.map((r) => r.id);
const rows: string[][] = [];
const fired: string[] = [];
for (const lines of volumes) {
  const rand = random(seed);
  const context: ContextWindow = {
    logs: logsOf(lines, rand),
    traces: tracesOf(traceCount, rand),
    deploys: deploysOf(deployCount, rand),
  };
  const errors = context.logs.filter((l) => isErrorLevel(l.level)).length;
  // 2,000 calls at 1k lines, 500 at 10k, 50 at 100k; a fifth as many (at least 10) to warm up first.
  const iterations = Math.max(50, Math.min(2000, Math.round(5_000_000 / Math.max(lines, 1))));
  const result = measure(context, iterations, Math.max(10, Math.round(iterations / 5)));
  rows.push([
    String(lines),
    String(errors),
    String(iterations),
    ms(result.median),
    ms(result.p95),
    ...ruleIds.map((id) => ms(result.rulesMedian.get(id) ?? Number.NaN)),
  ]);
  fired.push(`${lines} lines: ${result.findings.join(', ')}`);
}

const header = ['logs', 'errors', 'runs', 'median', 'p95', ...ruleIds];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const format = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
console.log(`\n${format(header)}`);
for (const row of rows) console.log(format(row));
console.log(
  `\nmedian and p95 of one correlate() call; per rule: the median time inside its evaluate (the error analysis two rules share counts in the first that asks, deploy.recent_correlated). Load average at the end ${load()}.\nFindings:\n  ${fired.join('\n  ')}`,
);
