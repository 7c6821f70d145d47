import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '@incident-pilot/local';

export interface TestStack extends LocalStack {
  dataDir: string;
  /** fetch against the stack, JSON in and out; `token` adds the bearer header. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; token?: string; raw?: string | Buffer },
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, asserted by the tests
    body: any;
  }>;
  /** Stops the stack and deletes its data. */
  destroy(): Promise<void>;
}

/** Starts the local stack on random ports with a fresh data dir (or the given one), stdout quiet. */
export async function startTestStack(options: LocalStackOptions & { dataDir?: string } = {}): Promise<TestStack> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'incident-pilot-test-'));
  const stack = await startLocalStack({
    visibilityTimeoutSeconds: 2,
    ...options,
    dataDir,
    env: { INCIDENT_PILOT_QUIET: '1', INCIDENT_PILOT_LOG_LEVEL: 'error', INCIDENT_PILOT_TOKEN: '', ...options.env },
  });
  return {
    ...stack,
    dataDir,
    async api(path, init = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
      const res = await fetch(`${stack.url}${path}`, {
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    },
    async destroy() {
      await stack.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
