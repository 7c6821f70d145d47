/**
 * Measures the bundled handler of every Lambda function in a synthesized cloud assembly. Shared by
 * `scripts/bundle-size.ts` and the bundle-size test. Sizes are deterministic (same sources, same
 * esbuild), so checking them is not a flaky timing test.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const KIB = 1024;

/** Cold start grows with the code Node has to parse: ingest is on Alertmanager's path, so it is held tightest. */
export const BUNDLE_LIMITS: Readonly<Record<string, number>> = { alerts: 250 * KIB };
export const DEFAULT_BUNDLE_LIMIT = 600 * KIB;

export interface BundleSize {
  /** `alerts`, `context`, `query`, `worker` (the construct id, lowercased). */
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly limit: number;
}

interface TemplateResource {
  Type: string;
  Properties?: { Code?: { S3Key?: unknown } };
  Metadata?: Record<string, unknown>;
}

/** The stack's functions and their `index.mjs`, found through each function's asset hash (`<hash>.zip`). */
export function measureBundles(assemblyDir: string, stackName: string): BundleSize[] {
  const template = JSON.parse(readFileSync(join(assemblyDir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const key = r.Properties?.Code?.S3Key;
      if (typeof key !== 'string' || !key.endsWith('.zip')) {
        throw new Error(`${logicalId}: no asset S3Key in the template; was it synthesized with bundling?`);
      }
      const file = join(assemblyDir, `asset.${key.slice(0, -'.zip'.length)}`, 'index.mjs');
      const name = functionName(logicalId, r.Metadata?.['aws:cdk:path']);
      return { name, file, bytes: statSync(file).size, limit: BUNDLE_LIMITS[name] ?? DEFAULT_BUNDLE_LIMIT };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `IncidentPilot-prod/Alerts/Function/Resource` → `alerts`; without path metadata, from the logical id. */
function functionName(logicalId: string, path: unknown): string {
  const fromPath = typeof path === 'string' ? path.split('/')[1] : undefined;
  return (fromPath ?? logicalId.replace(/Function[0-9A-F]{8}$/, '')).toLowerCase();
}

/** A fixed-width table of the sizes, one line per function. */
export function formatBundleSizes(sizes: readonly BundleSize[]): string {
  const kib = (n: number) => `${(n / KIB).toFixed(1)} KiB`;
  return sizes
    .map((s) => {
      const verdict = s.bytes <= s.limit ? 'ok' : 'OVER';
      return `${s.name.padEnd(8)} ${kib(s.bytes).padStart(11)}  (limit ${kib(s.limit)})  ${verdict}`;
    })
    .join('\n');
}
