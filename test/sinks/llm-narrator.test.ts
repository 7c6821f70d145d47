import { narrate } from '@incident-pilot/core';
import { createLlmNarrator, guardRephrase, type LlmProvider } from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CannedResponse, type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { baseIncident, COMMIT, TRACE } from './incidents.js';

const API_KEY = 'sk-test-7f1d3a9c-secret';
const incident = baseIncident();
const templated = narrate(incident);
// A faithful rewording: headings change, every id, number and command stays.
const goodRephrase = templated.replace('What changed', 'Recent changes').replace('Findings', 'What the rules found');

const openaiAnswer = (content: string): CannedResponse => ({
  body: { choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] },
});
const anthropicAnswer = (text: string): CannedResponse => ({
  body: { type: 'message', role: 'assistant', content: [{ type: 'text', text }], stop_reason: 'end_turn' },
});

describe('LLM narrator', () => {
  let server: CaptureServer;
  let reasons: string[];

  beforeEach(async () => {
    server = await startCaptureServer();
    reasons = [];
  });
  afterEach(async () => {
    await server.close();
  });

  const narrator = (provider: LlmProvider = 'openai', timeoutMs = 2000) =>
    createLlmNarrator({
      provider,
      endpoint: `${server.url}/v1/${provider === 'openai' ? 'chat/completions' : 'messages'}`,
      apiKey: API_KEY,
      model: 'test-model',
      timeoutMs,
      onFallback: (reason) => reasons.push(reason),
    });

  describe('OpenAI chat-completions', () => {
    it('accepts a faithful rephrasing', async () => {
      server.respondWith(openaiAnswer(goodRephrase));
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(goodRephrase);
      expect(reasons).toEqual([]);
    });

    it('sends the key as a bearer token and the templated report as data', async () => {
      server.respondWith(openaiAnswer(goodRephrase));
      await narrator().rephrase(incident, templated);

      const [request] = server.requests;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/v1/chat/completions');
      expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
      const body = request?.json() as { model: string; messages: { role: string; content: string }[] };
      expect(body.model).toBe('test-model');
      expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(body.messages[0]?.content).toMatch(/never add facts/i);
      expect(body.messages[1]?.content).toBe(`<report>\n${templated}\n</report>`);
      expect(request?.text()).not.toContain(API_KEY);
    });
  });

  describe('Anthropic messages', () => {
    it('accepts a faithful rephrasing and sends x-api-key with the API version', async () => {
      server.respondWith(anthropicAnswer(goodRephrase));
      await expect(narrator('anthropic').rephrase(incident, templated)).resolves.toBe(goodRephrase);

      const [request] = server.requests;
      expect(request?.url).toBe('/v1/messages');
      expect(request?.headers['x-api-key']).toBe(API_KEY);
      expect(request?.headers['anthropic-version']).toBe('2023-06-01');
      expect(request?.headers.authorization).toBeUndefined();
      const body = request?.json() as { model: string; max_tokens: number; system: string; messages: unknown[] };
      expect(body).toMatchObject({ model: 'test-model', max_tokens: 1024 });
      expect(body.system).toMatch(/never add facts/i);
      expect(body.messages).toEqual([{ role: 'user', content: `<report>\n${templated}\n</report>` }]);
    });

    it('falls back when the answer was cut at the token limit', async () => {
      server.respondWith({ body: { content: [{ type: 'text', text: goodRephrase }], stop_reason: 'max_tokens' } });
      await expect(narrator('anthropic').rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['answer cut at the token limit']);
    });
  });

  describe('the guard: falls back to the templated text', () => {
    it.each([
      ['dropping the commit id', goodRephrase.replaceAll(COMMIT, 'the latest commit'), /dropped .*9f3c2ab71d04/],
      ['dropping the trace id', goodRephrase.replaceAll(TRACE, 'the slow trace'), /dropped .*4bf92f35/],
      ['dropping the incident id', goodRephrase.replaceAll(incident.id, 'this incident'), /dropped "inc-/],
      ['changing the suggested command', goodRephrase.replace('--to-revision=41', '--to-revision=40'), /dropped/],
      ['dropping a number', goodRephrase.replaceAll('2400ms', 'about two seconds'), /dropped the number 2400/],
      ['inventing a commit id', `${goodRephrase}\nProbably caused by commit deadbeef42.`, /introduced .*deadbeef42/],
      ['answering nothing', '   ', /no text/],
    ])('when the answer is %s', async (_, answer, reason) => {
      server.respondWith(openaiAnswer(answer));
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(reason);
    });
  });

  describe('failures: falls back to the templated text', () => {
    it('on a 500', async () => {
      server.respondWith({ status: 500, body: { error: { message: 'overloaded' } } });
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['openai answered 500']);
    });

    it('on a timeout', async () => {
      server.respondWith({ ...openaiAnswer(goodRephrase), delayMs: 2000 });
      await expect(narrator('openai', 100).rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['openai no answer within 100ms']);
    });

    it('on a network error', async () => {
      const closed = await startCaptureServer();
      await closed.close();
      const offline = createLlmNarrator({
        provider: 'anthropic',
        endpoint: `${closed.url}/v1/messages`,
        apiKey: API_KEY,
        model: 'm',
        onFallback: (r) => reasons.push(r),
      });
      await expect(offline.rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['anthropic request failed']);
    });

    it('on an answer that is not the expected JSON', async () => {
      server.respondWith({ body: 'not json' }, { body: { choices: [] } });
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(templated);
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['openai answer is not JSON', 'no text in the answer']);
    });

    it('without a model, and then sends nothing', async () => {
      const unconfigured = createLlmNarrator({ provider: 'openai', endpoint: server.url, model: '' });
      await expect(unconfigured.rephrase(incident, templated)).resolves.toBe(templated);
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('the API key', () => {
    it('never reaches the output, even when the provider echoes it', async () => {
      server.respondWith(openaiAnswer(`${goodRephrase}\n(key ${API_KEY})`));
      const out = await narrator().rephrase(incident, templated);
      expect(out).toBe(templated);
      expect(out).not.toContain(API_KEY);
      expect(reasons.join(' ')).not.toContain(API_KEY);
    });

    it('never reaches a fallback reason when a 401 body quotes it', async () => {
      server.respondWith({ status: 401, body: { error: { message: `Incorrect API key provided: ${API_KEY}` } } });
      await expect(narrator().rephrase(incident, templated)).resolves.toBe(templated);
      expect(reasons).toEqual(['openai answered 401']);
    });
  });
});

describe('guardRephrase', () => {
  it('accepts the templated text itself', () => {
    expect(guardRephrase(incident, templated, templated)).toEqual({ ok: true });
  });

  it('treats a number inside a longer number as missing', () => {
    const verdict = guardRephrase(incident, 'took 41 s', 'took 410 s');
    expect(verdict).toEqual({ ok: false, reason: 'answer dropped the number 41' });
  });

  it('ignores ids of the incident that the templated text does not quote', () => {
    expect(guardRephrase(incident, 'short report', 'a short report')).toEqual({ ok: true });
  });

  it('rejects an answer far longer than the report', () => {
    expect(guardRephrase(incident, 'short', 'x'.repeat(5000))).toEqual({ ok: false, reason: 'answer too long' });
  });
});
