/**
 * Module init of the ingest function (`alerts`) against a bundle holding only the AWS clients it
 * needs: how much of the cold start the ingest's own code adds.
 *
 *   npx tsx scripts/bench-cold-start.ts [--runs 21] [--instructions] [--analyze]
 *
 * Bundles. Both are built with esbuild using the options every function is deployed with (`BUNDLING`
 * in infra/constructs/pipeline-function.ts, as NodejsFunction passes them: platform node, ESM,
 * minified, target node24, nothing external, the `require` banner):
 *   - reference: the DynamoDB client wrapped in lib-dynamodb's document client (as the ingest's store
 *     uses it) and the SQS client, each constructed at module scope;
 *   - ingest: functions/alerts.ts, the handler the stack deploys.
 *
 * Times. Each run is a fresh `node` that imports one bundle (parse, link, evaluate; nothing invoked)
 * and reports the wall time of `await import()` and the CPU time the process spent meanwhile (user +
 * system, all threads; less sensitive than wall time to other work on a shared machine). Runs
 * alternate between the bundles, and which goes first, so both see the same noise; one untimed run
 * each warms the file cache. Figures are medians (and minima) of `--runs` runs; the ratios are ingest
 * / reference. A third row times, in the same way, the ingest's import plus its first request (a
 * webhook with a bad field, answered 400 without a network call): the work module init leaves to the
 * first invocation (parsing the environment, building the composition root and the alert schemas).
 *
 * `--instructions` also counts the instructions each import executes, under valgrind (callgrind) with
 * V8 single-threaded and seeded (`--predictable`): a count that other load on the machine does not
 * change, minus that of importing an empty module. It needs valgrind and takes about a minute.
 * `--analyze` prints esbuild's per-input breakdown of the ingest bundle.
 *
 * Node is this machine's (Lambda runs Node 24 on arm64), so absolute figures differ from Lambda's;
 * the ratio is what the bundle decides.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyzeMetafile, type BuildOptions, build } from 'esbuild';
import { BUNDLING } from '../infra/constructs/pipeline-function.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '21' },
    instructions: { type: 'boolean', default: false },
    analyze: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: a positive integer');

const root = fileURLToPath(new URL('..', import.meta.url));
const REFERENCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sqs = new SQSClient({});
export const handler = async () => ({ dynamo, sqs });
`;

/** NodejsFunction's esbuild command line (aws-lambda-nodejs bundling), as build options. */
const common: BuildOptions = {
  bundle: true,
  absWorkingDir: root,
  platform: 'node',
  format: BUNDLING.format,
  target: BUNDLING.target,
  minify: BUNDLING.minify,
  sourcemap: BUNDLING.sourceMap,
  mainFields: BUNDLING.mainFields,
  external: BUNDLING.externalModules,
  banner: { js: BUNDLING.banner },
  logLevel: 'warning',
};

/**
 * A child's whole environment: a region (Lambda always sets one) and the ingest's configuration, and
 * nothing from the shell (`NODE_EXTRA_CA_CERTS`, for one, makes Node parse certificates as it starts).
 */
const CHILD_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  INCIDENT_PILOT_TABLE: 'incident-pilot-data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incident-pilot-incidents',
  INCIDENT_PILOT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/incident-pilot-jobs',
  INCIDENT_PILOT_TOKEN: 'bench-token',
};

/** A webhook whose alert has no labels and a bad `startsAt`: validated, then answered 400. */
const BAD_WEBHOOK = {
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  status: 'firing',
  alerts: [{ status: 'firing', labels: {}, startsAt: 'yesterday', fingerprint: 'abc' }],
};
const FIRST_REQUEST = {
  version: '2.0',
  routeKey: 'POST /alerts',
  rawPath: '/alerts',
  headers: { authorization: `Bearer ${CHILD_ENV.INCIDENT_PILOT_TOKEN}`, 'content-type': 'application/json' },
  requestContext: { requestId: 'bench', http: { method: 'POST', path: '/alerts' } },
  body: JSON.stringify(BAD_WEBHOOK),
  isBase64Encoded: false,
};

interface Sample {
  /** Wall time, ms. */
  wall: number;
  /** CPU time of the process meanwhile (user + system, all threads), ms. */
  cpu: number;
}

interface Row {
  name: string;
  file: string;
  bytes: number;
  /** Invoke the handler once after the import (the ingest's first request). */
  invoke: boolean;
  samples: Sample[];
}

const outdir = mkdtempSync(join(tmpdir(), 'incident-pilot-cold-start-'));
try {
  const reference = await bundle('reference', {
    stdin: { contents: REFERENCE, resolveDir: root, sourcefile: 'reference.ts', loader: 'ts' },
  });
  const ingest = await bundle('ingest', { entryPoints: [join(root, 'functions/alerts.ts')] }, values.analyze);
  const firstRequest: Row = { ...ingest, name: 'ingest + first request', invoke: true, samples: [] };
  const rows = [reference, ingest, firstRequest];

  for (const row of rows) measure(row); // untimed: warms the file cache
  for (let i = 0; i < runs; i++) {
    for (const row of i % 2 === 0 ? rows : [...rows].reverse()) row.samples.push(measure(row));
  }

  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const ms = (n: number) => `${n.toFixed(1)} ms`.padStart(9);
  const of = (row: Row, key: keyof Sample) => row.samples.map((s) => s[key]);
  const ratio = (row: Row, key: keyof Sample) => (median(of(row, key)) / median(of(reference, key))).toFixed(2);
  console.log(`module init in a fresh node ${process.version}, ${runs} runs each, interleaved`);
  console.log(
    `${''.padEnd(23)} ${'bundle'.padStart(10)} ${'wall'.padStart(9)} ${'min'.padStart(9)} ${'cpu'.padStart(9)} ${'min'.padStart(9)}   ratio wall, cpu (medians)`,
  );
  for (const row of rows) {
    const [wall, cpu] = [of(row, 'wall'), of(row, 'cpu')];
    console.log(
      `${row.name.padEnd(23)} ${kib(row.bytes).padStart(10)} ${ms(median(wall))} ${ms(Math.min(...wall))} ${ms(median(cpu))} ${ms(Math.min(...cpu))}   ${ratio(row, 'wall')}, ${ratio(row, 'cpu')}`,
    );
  }
  console.log(`module init, ingest / reference: ${ratio(ingest, 'wall')} (wall), ${ratio(ingest, 'cpu')} (cpu)`);

  if (values.instructions) {
    const empty = join(outdir, 'empty.mjs');
    writeFileSync(empty, 'export {};\n');
    const [base, ref, ing] = await Promise.all([
      instructions(empty),
      instructions(reference.file),
      instructions(ingest.file),
    ]);
    const [refN, ingN] = [ref - base, ing - base];
    const m = (n: number) => `${(n / 1e6).toFixed(1)} M`;
    console.log(`\ninstructions executed by the import (callgrind, minus an empty module's ${m(base)})`);
    console.log(
      `reference ${m(refN).padStart(9)}\ningest    ${m(ingN).padStart(9)}\nratio     ${(ingN / refN).toFixed(3)}`,
    );
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

async function bundle(name: string, entry: BuildOptions, analyze = false): Promise<Row> {
  const file = join(outdir, `${name}.mjs`);
  const { metafile } = await build({ ...common, ...entry, outfile: file, metafile: true });
  if (analyze) console.log(await analyzeMetafile(metafile, { verbose: false }));
  const output = metafile.outputs[file] ?? Object.values(metafile.outputs)[0];
  return { name, file, bytes: output?.bytes ?? Number.NaN, invoke: false, samples: [] };
}

/** One fresh process: import the bundle (and, for `invoke`, answer the first request). */
function measure({ file, invoke }: Row): Sample {
  const script = [
    'const c = process.cpuUsage(), t = performance.now();',
    `const { handler } = await import(${JSON.stringify(file)});`,
    invoke ? `const res = await handler(${JSON.stringify(FIRST_REQUEST)}, {});` : '',
    invoke ? 'if (res.statusCode !== 400) throw new Error("expected a 400, got " + res.statusCode);' : '',
    'const wall = performance.now() - t, { user, system } = process.cpuUsage(c);',
    // On stderr: the handler's log and metric lines go to stdout.
    'process.stderr.write("\\nbench:" + JSON.stringify({ wall, cpu: (user + system) / 1000 }) + "\\n");',
  ].join(' ');
  const out = runNode(['--input-type=module', '-e', script]);
  const line = out.split('\n').find((l) => l.startsWith('bench:'));
  if (!line) throw new Error(`no measurement from ${file}:\n${out}`);
  return JSON.parse(line.slice('bench:'.length)) as Sample;
}

/** Runs a fresh `node` with `args`; returns what it wrote to stderr. */
function runNode(args: string[]): string {
  const child = spawnSync(process.execPath, args, {
    env: CHILD_ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`node exited with ${child.status}:\n${child.stderr}`);
  return child.stderr;
}

/** Instructions executed by a fresh, deterministic Node importing `file`. */
function instructions(file: string): Promise<number> {
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', process.execPath];
  args.push('--single-threaded', '--predictable', '--hash-seed=1', '--random-seed=1');
  args.push('--input-type=module', '-e', `await import(${JSON.stringify(file)});`);
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { env: CHILD_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', (error) => reject(new Error(`--instructions needs valgrind (${error.message})`)));
    child.on('close', () => {
      const count = /Collected : (\d+)/.exec(err)?.[1];
      if (count === undefined) reject(new Error(`no instruction count from valgrind:\n${err}`));
      else resolve(Number(count));
    });
  });
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
