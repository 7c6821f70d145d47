/**
 * Measures the bundled handler of every Lambda function in a synthesized cloud assembly. Shared by
 * `scripts/bundle-size.ts` and the bundle-size test. Sizes are deterministic (same sources, same
 * esbuild), so checking them is not a flaky timing test.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const KIB = 1024;

/**
 * Two budgets. Every function's unzipped bundle (what Node parses at cold start) stays within
 * 600 KiB (the worker: see WORKER_BUNDLE_LIMIT). Ingest sits on Alertmanager's path and is held tighter: its deployment package — the
 * "code size" Lambda reports, the zip that is downloaded at cold start — stays within 250 KiB.
 * (Unzipped, ingest is ~510 KiB: the bundled AWS SDK v3 clients and their runtime alone are ~380 KiB,
 * so 250 KiB unzipped is out of reach without leaving the SDK to the runtime, which the design rules out.
 * Its module init is timed against the clients alone by scripts/bench-cold-start.ts.)
 */
export const INGEST_PACKAGE_LIMIT = 250 * KIB;
export const BUNDLE_LIMIT = 600 * KIB;
/**
 * The worker alone carries the sinks and the LLM clients. The Bedrock Runtime client adds 50 KiB
 * (measured with the client left external: 561 → 611 KiB), which took the worker past 600, and
 * Powertools Logger and Metrics add ~31 KiB to every function (esbuild metafile: logger 16.3, metrics
 * 10.3, commons 4.3 KiB), which took it to ~665 KiB; its budget is 700 KiB. Its cold start is off the
 * alert path (SQS).
 */
export const WORKER_BUNDLE_LIMIT = 700 * KIB;

/** The unzipped budget of one function. */
export const bundleLimitOf = (name: string) => (name === 'worker' ? WORKER_BUNDLE_LIMIT : BUNDLE_LIMIT);

export interface BundleSize {
  /** `alerts`, `context`, `interactions`, `query`, `worker` (the construct id, lowercased). */
  readonly name: string;
  readonly file: string;
  /** index.mjs, unzipped. */
  readonly bytes: number;
  /** The deployment package: index.mjs deflated as in the asset zip (plus its zip headers). */
  readonly packageBytes: number;
}

/** Zip local header + central directory entry + end record for one file named index.mjs. */
const ZIP_OVERHEAD = 30 + 46 + 22 + 2 * 'index.mjs'.length;

interface TemplateResource {
  Type: string;
  Properties?: { Code?: { S3Key?: unknown } };
  Metadata?: Record<string, unknown>;
}

/** The stack's functions and their `index.mjs`, found through each function's asset hash (`<hash>.zip`). */
export function measureBundles(assemblyDir: string, stackName: string): BundleSize[] {
  // Absolute, so that `file` can be imported from anywhere (`--cdk-out cdk.out` is relative).
  const dir = resolve(assemblyDir);
  const template = JSON.parse(readFileSync(join(dir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const key = r.Properties?.Code?.S3Key;
      if (typeof key !== 'string' || !key.endsWith('.zip')) {
        throw new Error(`${logicalId}: no asset S3Key in the template; was it synthesized with bundling?`);
      }
      const file = join(dir, `asset.${key.slice(0, -'.zip'.length)}`, 'index.mjs');
      const name = functionName(logicalId, r.Metadata?.['aws:cdk:path']);
      const code = readFileSync(file);
      const packageBytes = deflateRawSync(code, { level: 9 }).byteLength + ZIP_OVERHEAD;
      return { name, file, bytes: code.byteLength, packageBytes };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `IncidentPilot-prod/Alerts/Function/Resource` → `alerts`; without path metadata, from the logical id. */
function functionName(logicalId: string, path: unknown): string {
  const fromPath = typeof path === 'string' ? path.split('/')[1] : undefined;
  return (fromPath ?? logicalId.replace(/Function[0-9A-F]{8}$/, '')).toLowerCase();
}

/** The budgets a function breaks, in words; empty when it keeps them. */
export function overBudget(s: BundleSize): string[] {
  const over: string[] = [];
  const limit = bundleLimitOf(s.name);
  if (s.bytes > limit) over.push(`${s.name}: bundle ${s.bytes} B > ${limit} B`);
  if (s.name === 'alerts' && s.packageBytes > INGEST_PACKAGE_LIMIT) {
    over.push(`${s.name}: package ${s.packageBytes} B > ${INGEST_PACKAGE_LIMIT} B`);
  }
  return over;
}

/** A fixed-width table of the sizes, one line per function. */
export function formatBundleSizes(sizes: readonly BundleSize[]): string {
  const kib = (n: number) => `${(n / KIB).toFixed(1)} KiB`;
  const header = `${'function'.padEnd(12)} ${'bundle'.padStart(11)} ${'package'.padStart(11)}  budget`;
  const rows = sizes.map((s) => {
    const bundle = `bundle ≤ ${bundleLimitOf(s.name) / KIB} KiB`;
    const budget = s.name === 'alerts' ? `${bundle}, package ≤ 250 KiB` : bundle;
    const verdict = overBudget(s).length === 0 ? 'ok' : 'OVER';
    return `${s.name.padEnd(12)} ${kib(s.bytes).padStart(11)} ${kib(s.packageBytes).padStart(11)}  ${budget}  ${verdict}`;
  });
  return [header, ...rows].join('\n');
}

/**
 * The median wall time, in ms, of importing `file` (parse and evaluate, nothing invoked) in a fresh
 * Node, over `runs` runs: the part of a cold start the bundle decides.
 */
export function importTimeMs(file: string, runs = 7): number {
  // A file URL: a bare path such as cdk.out/asset.…/index.mjs would be resolved as a package name.
  const url = pathToFileURL(resolve(file)).href;
  const script = `const t = performance.now(); await import(${JSON.stringify(url)}); console.log(performance.now() - t);`;
  const times = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })),
  ).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] ?? Number.NaN;
}
