/**
 * Bundles every function exactly as `cdk synth` does and checks the size of each index.mjs: sizes are
 * deterministic for given sources, so this guards cold-start weight without timing anything.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundleSize, formatBundleSizes, measureBundles } from '../../infra/bundle-size.js';
import { buildTestApp, SYNTH_TIMEOUT_MS } from './synth.js';

let sizes: BundleSize[];

beforeAll(() => {
  const { app, stack } = buildTestApp({}, { nag: false, cfnValidation: false });
  sizes = measureBundles(app.synth().directory, stack.stackName);
  console.log(`bundle sizes:\n${formatBundleSizes(sizes)}`);
}, SYNTH_TIMEOUT_MS);

describe('function bundles', () => {
  it('are ESM with the AWS SDK inside (no import left for the runtime to resolve)', () => {
    expect(sizes.map((s) => s.name)).toEqual(['alerts', 'context', 'interactions', 'query', 'worker']);
    for (const { name, file } of sizes) {
      const code = readFileSync(file, 'utf8');
      expect(code.startsWith("import { createRequire as __ipCreateRequire } from 'node:module';"), name).toBe(true);
      expect(code, name).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code, name).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{\s*handler\b/);
    }
  });

  it('keep the ingest (alerts) deployment package within 250 KiB', () => {
    const alerts = sizes.find((s) => s.name === 'alerts');
    expect(alerts?.packageBytes).toBeLessThanOrEqual(250 * 1024);
  });

  it('leave Slack, stdout, LLM (and the Bedrock client) and paging sink code out of the HTTP functions; interactions carries only the Slack app message', () => {
    const worker = readFileSync(sizes.find((s) => s.name === 'worker')?.file ?? '', 'utf8');
    expect(worker).toContain('unfurl_links');
    expect(worker).toContain('/converse');
    expect(worker).toContain('GenieKey');
    for (const { name, file } of sizes.filter((s) => s.name !== 'worker')) {
      const code = readFileSync(file, 'utf8');
      for (const marker of ['unfurl_links', '/converse', 'GenieKey', 'x-incident-pilot-signature', 'alertsOmitted']) {
        if (name === 'interactions' && marker === 'unfurl_links') continue;
        expect(code, `${name}: ${marker}`).not.toContain(marker);
      }
    }
    const interactions = readFileSync(sizes.find((s) => s.name === 'interactions')?.file ?? '', 'utf8');
    expect(interactions).toContain('unfurl_links');
    expect(interactions).not.toContain('anthropic-version');
    expect(interactions).not.toContain('webhook answered');
  });

  it('keep the HTTP functions within 600 KiB and the worker within 700 KiB', () => {
    const limit = (name: string) => (name === 'worker' ? 700 : 600) * 1024;
    const over = sizes.filter((s) => s.bytes > limit(s.name)).map((s) => `${s.name}: ${s.bytes} bytes`);
    expect(over).toEqual([]);
  });
});
