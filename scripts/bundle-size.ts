/**
 * Prints the size of every function's bundle (index.mjs) and deployment package, and exits 1 when
 * one is over budget (every bundle ≤ 600 KiB; the ingest package ≤ 250 KiB).
 *
 *   npx tsx scripts/bundle-size.ts                 # synthesizes (with bundling) into a temp dir
 *   npx tsx scripts/bundle-size.ts --cdk-out cdk.out [--stack IncidentPilot-prod]   # after `npx cdk synth`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBundleSizes, measureBundles, overBudget } from '../infra/bundle-size.js';
import { createApp, readCdkJsonContext } from '../infra/create-app.js';

const { values } = parseArgs({ options: { 'cdk-out': { type: 'string' }, stack: { type: 'string' } } });

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
} finally {
  cleanup();
}
