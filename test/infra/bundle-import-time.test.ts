/**
 * `scripts/bundle-size.ts --cdk-out cdk.out --import-times` (the README's command after `npx cdk synth`)
 * imports each bundle in a fresh Node: a relative assembly directory must still name a file, not a package.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTimeMs, measureBundles } from '../../infra/bundle-size.js';

let dir: string;
let relativeDir: string;

beforeAll(() => {
  // Inside the working directory, like cdk.out, so that it can be named relative to it.
  dir = mkdtempSync(join(process.cwd(), '.bundle-import-time-'));
  relativeDir = relative(process.cwd(), dir);
  const template = {
    Resources: {
      AlertsFunction12345678: {
        Type: 'AWS::Lambda::Function',
        Properties: { Code: { S3Key: 'abc123.zip' } },
        Metadata: { 'aws:cdk:path': 'IncidentPilot-test/Alerts/Function/Resource' },
      },
    },
  };
  writeFileSync(join(dir, 'IncidentPilot-test.template.json'), JSON.stringify(template));
  mkdirSync(join(dir, 'asset.abc123'));
  writeFileSync(join(dir, 'asset.abc123', 'index.mjs'), 'export const handler = () => 1;\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundle import time', () => {
  it('measures bundles of an assembly named by a relative path, with absolute file names', () => {
    const [alerts] = measureBundles(relativeDir, 'IncidentPilot-test');
    expect(alerts?.name).toBe('alerts');
    expect(isAbsolute(alerts?.file ?? '')).toBe(true);
  });

  it('imports a bundle named by a relative path (not resolved as a package)', () => {
    const ms = importTimeMs(join(relativeDir, 'asset.abc123', 'index.mjs'), 1);
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(0);
  });
});
