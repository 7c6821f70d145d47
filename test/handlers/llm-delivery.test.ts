/**
 * The worker's LLM wiring: the environment as users set it, parsed once, to a narrator that calls the
 * configured provider (a stand-in on 127.0.0.1) and logs every discarded rewording.
 */
import { narrate, TransientError } from '@incident-pilot/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRoot, type Root } from '../../functions/lib/composition.js';
import { createDelivery } from '../../functions/lib/delivery.js';
import { parseEnv } from '../../functions/lib/env.js';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { llmAnswer } from '../helpers/llm-providers.js';
import { baseIncident } from '../sinks/incidents.js';

const BASE = {
  INCIDENT_PILOT_TABLE: 'data',
  INCIDENT_PILOT_INCIDENTS_TABLE: 'incidents',
  INCIDENT_PILOT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
  INCIDENT_PILOT_QUIET: '1',
};
const incident = baseIncident();
const templated = narrate(incident);
const faithful = templated.replace('What changed', 'Recent changes');

describe('LLM settings (env)', () => {
  it.each([
    [{ INCIDENT_PILOT_LLM_PROVIDER: 'ollama', INCIDENT_PILOT_LLM_MODEL: 'llama3.2' }],
    [
      {
        INCIDENT_PILOT_LLM_PROVIDER: 'openai-compatible',
        INCIDENT_PILOT_LLM_MODEL: 'qwen2.5',
        INCIDENT_PILOT_LLM_BASE_URL: 'http://localhost:8000/v1',
      },
    ],
    [
      {
        INCIDENT_PILOT_LLM_PROVIDER: 'openai',
        INCIDENT_PILOT_LLM_MODEL: 'gpt-4o-mini',
        INCIDENT_PILOT_LLM_API_KEY: 'k',
      },
    ],
    [
      {
        INCIDENT_PILOT_LLM_PROVIDER: 'anthropic',
        INCIDENT_PILOT_LLM_MODEL: 'claude-x',
        INCIDENT_PILOT_LLM_ENDPOINT: 'https://llm.internal/v1/messages',
      },
    ],
    [
      {
        INCIDENT_PILOT_LLM_PROVIDER: 'bedrock',
        INCIDENT_PILOT_LLM_MODEL: 'eu.amazon.nova-lite-v1:0',
        INCIDENT_PILOT_LLM_REGION: 'eu-west-1',
      },
    ],
  ])('accepts %j', (llm) => {
    expect(parseEnv({ ...BASE, ...llm }).INCIDENT_PILOT_LLM_PROVIDER).toBe(llm.INCIDENT_PILOT_LLM_PROVIDER);
  });

  it('defaults the caps: severity high, 60 calls an hour, 4096 tokens a call', () => {
    expect(parseEnv(BASE)).toMatchObject({
      INCIDENT_PILOT_LLM_MIN_SEVERITY: 'high',
      INCIDENT_PILOT_LLM_MAX_CALLS_PER_HOUR: 60,
      INCIDENT_PILOT_LLM_MAX_TOKENS: 4096,
    });
  });

  it.each([
    [
      { INCIDENT_PILOT_LLM_PROVIDER: 'ollama' },
      'INCIDENT_PILOT_LLM_MODEL: is required with INCIDENT_PILOT_LLM_PROVIDER=ollama',
    ],
    [
      { INCIDENT_PILOT_LLM_PROVIDER: 'openai-compatible', INCIDENT_PILOT_LLM_MODEL: 'm' },
      'INCIDENT_PILOT_LLM_BASE_URL: is required',
    ],
    [{ INCIDENT_PILOT_LLM_PROVIDER: 'llama', INCIDENT_PILOT_LLM_MODEL: 'm' }, 'INCIDENT_PILOT_LLM_PROVIDER:'],
    [
      {
        INCIDENT_PILOT_LLM_PROVIDER: 'openai',
        INCIDENT_PILOT_LLM_MODEL: 'm',
        INCIDENT_PILOT_LLM_BASE_URL: 'https://a.example/v1',
        INCIDENT_PILOT_LLM_ENDPOINT: 'https://a.example/v1/chat/completions',
      },
      'INCIDENT_PILOT_LLM_BASE_URL: set either it or INCIDENT_PILOT_LLM_ENDPOINT',
    ],
    [
      { INCIDENT_PILOT_LLM_PROVIDER: 'bedrock', INCIDENT_PILOT_LLM_MODEL: 'm', INCIDENT_PILOT_LLM_API_KEY: 'k' },
      'INCIDENT_PILOT_LLM_API_KEY: is not used with INCIDENT_PILOT_LLM_PROVIDER=bedrock',
    ],
    [
      { INCIDENT_PILOT_LLM_PROVIDER: 'ollama', INCIDENT_PILOT_LLM_MODEL: 'm', INCIDENT_PILOT_LLM_REGION: 'eu-west-1' },
      'INCIDENT_PILOT_LLM_REGION: is for bedrock only',
    ],
    [{ INCIDENT_PILOT_LLM_BASE_URL: 'localhost:11434' }, 'INCIDENT_PILOT_LLM_BASE_URL:'],
    [{ INCIDENT_PILOT_LLM_MIN_SEVERITY: 'urgent' }, 'INCIDENT_PILOT_LLM_MIN_SEVERITY:'],
  ])('stops start-up on %j, naming the variable', (llm, message) => {
    expect(() => parseEnv({ ...BASE, ...llm })).toThrowError(message);
  });
});

describe('worker delivery with an LLM', () => {
  let server: CaptureServer;
  let logs: { level: string; message: string; data?: Record<string, unknown> }[];
  let counted: { name: string; value?: number; dimensions?: Record<string, string> }[];

  beforeEach(async () => {
    server = await startCaptureServer();
    logs = [];
    counted = [];
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await server.close();
  });

  const delivery = (llm: Record<string, string>, overrides: Partial<Root> = {}) => {
    const root = createRoot(parseEnv({ ...BASE, ...llm }));
    const record = (level: string) => (message: string, data?: Record<string, unknown>) => {
      logs.push({ level, message, data });
    };
    return createDelivery({
      ...root,
      log: { info: record('info'), warn: record('warn'), error: record('error') },
      metrics: { ...root.metrics, count: (name, value, dimensions) => counted.push({ name, value, dimensions }) },
      ...overrides,
    });
  };

  it('words an opened incident through Ollama at the configured base URL', async () => {
    server.respondWith(llmAnswer('ollama', faithful));
    const worker = delivery({
      INCIDENT_PILOT_LLM_PROVIDER: 'ollama',
      INCIDENT_PILOT_LLM_MODEL: 'llama3.2',
      INCIDENT_PILOT_LLM_BASE_URL: server.url,
    });
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(faithful);
    expect(server.requests.map((r) => r.url)).toEqual(['/api/chat']);
  });

  it('logs and counts a rejected rewording, and keeps the template', async () => {
    server.respondWith(llmAnswer('openai-compatible', `${faithful}\nThe deploy caused the outage.`));
    const worker = delivery({
      INCIDENT_PILOT_LLM_PROVIDER: 'openai-compatible',
      INCIDENT_PILOT_LLM_MODEL: 'qwen2.5',
      INCIDENT_PILOT_LLM_BASE_URL: `${server.url}/v1`,
    });
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(templated);
    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'narration rejected',
        data: {
          provider: 'openai-compatible',
          reason: expect.stringMatching(/cause no finding states/),
        },
      },
    ]);
    expect(counted).toEqual([{ name: 'NarrationRejected', value: 1, dimensions: { provider: 'openai-compatible' } }]);
  });

  /** An OpenAI-compatible provider at the stand-in, its key in Secrets Manager. */
  const keyInSecret = () => ({
    INCIDENT_PILOT_LLM_PROVIDER: 'openai-compatible',
    INCIDENT_PILOT_LLM_MODEL: 'qwen2.5',
    INCIDENT_PILOT_LLM_BASE_URL: `${server.url}/v1`,
    INCIDENT_PILOT_LLM_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:llm',
  });

  it('keeps the template when the LLM key cannot be read right now, and reads it again next time', async () => {
    server.respondWith(llmAnswer('openai-compatible', faithful));
    let readable = false;
    const worker = delivery(keyInSecret(), {
      async secret() {
        if (!readable) throw new TransientError('could not read a secret from Secrets Manager (ThrottlingException)');
        return 'sk-from-secrets-manager';
      },
    });

    // The LLM only rewords: a key it cannot read must not hold up the incident and its pages.
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(templated);
    readable = true;
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(faithful);

    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'narration failed',
        data: {
          provider: 'openai-compatible',
          reason: expect.stringMatching(/Secrets Manager \(ThrottlingException\)/),
        },
      },
    ]);
    expect(counted).toEqual([{ name: 'NarrationFailed', value: 1, dimensions: { provider: 'openai-compatible' } }]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-from-secrets-manager']);
  });

  it('uses a rotated LLM key once the secret holds it, without a cold start', async () => {
    server.respondWith(llmAnswer('openai-compatible', faithful), llmAnswer('openai-compatible', faithful));
    let key = 'sk-before-rotation';
    const worker = delivery(keyInSecret(), { secret: async () => key });

    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(faithful);
    key = 'sk-after-rotation';
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(faithful);

    expect(server.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer sk-before-rotation',
      'Bearer sk-after-rotation',
    ]);
  });

  it('calls Bedrock Converse at the BASE_URL override with the default credential chain', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDSTANDIN');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'standin-secret');
    server.respondWith(llmAnswer('bedrock', faithful));
    const worker = delivery({
      INCIDENT_PILOT_LLM_PROVIDER: 'bedrock',
      INCIDENT_PILOT_LLM_MODEL: 'eu.amazon.nova-lite-v1:0',
      INCIDENT_PILOT_LLM_REGION: 'eu-west-1',
      INCIDENT_PILOT_LLM_BASE_URL: server.url,
    });
    await expect(worker.narrate(incident, { event: 'opened' })).resolves.toBe(faithful);
    expect(server.requests[0]?.url).toBe('/model/eu.amazon.nova-lite-v1%3A0/converse');
    expect(server.requests[0]?.headers.authorization).toMatch(/Credential=AKIDSTANDIN\/\d+\/eu-west-1\/bedrock\//);
  });

  it('keeps resolved and low-severity incidents templated without a call', async () => {
    const worker = delivery({
      INCIDENT_PILOT_LLM_PROVIDER: 'ollama',
      INCIDENT_PILOT_LLM_MODEL: 'llama3.2',
      INCIDENT_PILOT_LLM_BASE_URL: server.url,
    });
    const low = baseIncident({ severity: 'low' });
    await expect(worker.narrate(incident, { event: 'resolved' })).resolves.toBe(templated);
    await expect(worker.narrate(low, { event: 'opened' })).resolves.toBe(narrate(low));
    expect(server.requests).toHaveLength(0);
  });
});
