/**
 * Module init of the ingest function (`alerts`) against a bundle holding only the AWS clients it
 * needs: how much of the cold start the ingest's own code adds.
 *
 *   npx tsx scripts/bench-cold-start.ts [--runs 21] [--analyze]
 *
 * Method. Both bundles are built with esbuild using the options every function is deployed with
 * (`BUNDLING` in infra/constructs/pipeline-function.ts: ESM, minified, node24, platform node, AWS SDK
 * bundled, the `require` banner):
 *   - reference: the DynamoDB client wrapped in lib-dynamodb's document client (as the ingest's store
 *     uses it) and the SQS client, each constructed at module scope;
 *   - ingest: functions/alerts.ts, the handler the stack deploys.
 * Each run starts a fresh `node` that times `await import(bundle)` (parse, link, evaluate; nothing
 * invoked) with performance.now() and prints it. Runs alternate between the two bundles (and which
 * goes first) so both see the same machine noise; one untimed warm-up each fills the file cache. The
 * figures are medians; the ratio is ingest / reference. Node is this machine's (Lambda runs 24 on
 * arm64), so absolute times differ from Lambda's; the ratio is what the bundle decides.
 * `--analyze` adds esbuild's per-input breakdown of the ingest bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyzeMetafile, type BuildOptions, build } from 'esbuild';
import { BUNDLING } from '../infra/constructs/pipeline-function.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '21' }, analyze: { type: 'boolean', default: false } },
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

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  samples: Sample[];
}

const outdir = mkdtempSync(join(tmpdir(), 'incident-pilot-cold-start-'));
try {
  const reference = await bundle('reference', {
    stdin: { contents: REFERENCE, resolveDir: root, sourcefile: 'reference.ts', loader: 'ts' },
  });
  const ingest = await bundle('ingest', { entryPoints: [join(root, 'functions/alerts.ts')] }, values.analyze);
  const bundles = [reference, ingest];

  // Clean environment: no tsx loader, nothing from this shell; a region, as Lambda always sets one.
  for (const b of bundles) importMs(b.file);
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? bundles : [...bundles].reverse();
    for (const b of order) b.samples.push(importMs(b.file));
  }

  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const ms = (n: number) => `${n.toFixed(1)} ms`.padStart(9);
  const of = (b: Bundle, key: keyof Sample) => b.samples.map((x) => x[key]);
  console.log(`module init in a fresh node ${process.version}, ${runs} runs each, interleaved (median, min)`);
  console.log(
    `${'bundle'.padEnd(10)} ${'size'.padStart(10)} ${'wall'.padStart(9)} ${'min'.padStart(9)} ${'cpu'.padStart(9)} ${'min'.padStart(9)}`,
  );
  for (const b of bundles) {
    const [wall, cpu] = [of(b, 'wall'), of(b, 'cpu')];
    console.log(
      `${b.name.padEnd(10)} ${kib(b.bytes).padStart(10)} ${ms(median(wall))} ${ms(Math.min(...wall))} ${ms(median(cpu))} ${ms(Math.min(...cpu))}`,
    );
  }
  const ratio = (key: keyof Sample) => (median(of(ingest, key)) / median(of(reference, key))).toFixed(2);
  console.log(`ratio ingest / reference (medians): wall ${ratio('wall')}, cpu ${ratio('cpu')}`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

async function bundle(name: string, entry: BuildOptions, analyze = false): Promise<Bundle> {
  const file = join(outdir, `${name}.mjs`);
  const result = await build({ ...common, ...entry, outfile: file, metafile: true });
  const { metafile } = result;
  if (analyze) console.log(await analyzeMetafile(metafile, { verbose: false }));
  const output = metafile.outputs[file] ?? Object.values(metafile.outputs)[0];
  return { name, file, bytes: output?.bytes ?? Number.NaN, samples: [] };
}

interface Sample {
  /** Wall time of the import, ms. */
  wall: number;
  /** CPU time the process spent meanwhile (user + system, all threads), ms. */
  cpu: number;
}

function importMs(file: string): Sample {
  const script = [
    'const c = process.cpuUsage(), t = performance.now();',
    `await import(${JSON.stringify(file)});`,
    'const wall = performance.now() - t, { user, system } = process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify({ wall, cpu: (user + system) / 1000 }));',
  ].join(' ');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(out) as Sample;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
