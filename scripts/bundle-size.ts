/**
 * Prints the size of every function's bundle (index.mjs) and deployment package, and exits 1 when
 * one is over budget (every bundle ≤ 600 KiB; the ingest package ≤ 250 KiB).
 *
 *   npx tsx scripts/bundle-size.ts                 # synthesizes (with bundling) into a temp dir
 *   npx tsx scripts/bundle-size.ts --cdk-out cdk.out [--stack IncidentPilot-prod]   # after `npx cdk synth`
 *   npx tsx scripts/bundle-size.ts --import-times   # also: median time to import each bundle in a new Node
 *
 * The import time (parse and evaluate index.mjs, nothing invoked) is the part of a cold start the
 * bundle decides; Lambda adds its own runtime start. It is measured on this machine's Node, 7 runs.
 * scripts/bench-cold-start.ts measures the ingest's against a bundle of its AWS clients alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBundleSizes, importTimeMs, measureBundles, overBudget } from '../infra/bundle-size.js';
import { createApp, readCdkJsonContext } from '../infra/create-app.js';

const { values } = parseArgs({
  options: { 'cdk-out': { type: 'string' }, stack: { type: 'string' }, 'import-times': { type: 'boolean' } },
});

let assemblyDir = values['cdk-out'];
let stackName = values.stack ?? 'IncidentPilot-prod';
let cleanup = () => {};
if (!assemblyDir) {
  const outdir = mkdtempSync(join(tmpdir(), 'incident-pilot-bundle-'));
  cleanup = () => rmSync(outdir, { recursive: true, force: true });
  // Validation (nag, CloudFormation rules) is irrelevant to sizes; skipping it keeps the script quick.
  const { app, stack } = createApp({
    context: readCdkJsonContext(),
    outdir,
    nag: false,
    cfnValidation: false,
    env: {},
  });
  assemblyDir = app.synth().directory;
  stackName = stack.stackName;
}

try {
  const sizes = measureBundles(assemblyDir, stackName);
  console.log(formatBundleSizes(sizes));
  const over = sizes.flatMap(overBudget);
  if (over.length > 0) {
    console.error(`\nover budget:\n${over.join('\n')}`);
    process.exitCode = 1;
  }
  if (values['import-times']) {
    console.log('\nimport time (median of 7, ms)');
    for (const { name, file } of sizes) console.log(`${name.padEnd(12)} ${importTimeMs(file).toFixed(0).padStart(6)}`);
  }
} finally {
  cleanup();
}
