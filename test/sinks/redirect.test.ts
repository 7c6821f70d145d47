/**
 * No sink follows a redirect: fetch would turn a 301/302 POST into a body-less GET (the notification is
 * lost while the sink looks healthy) and re-send a 307/308 body, keys included, to wherever `Location`
 * points. Each sink makes one request and names the redirect as a configuration problem.
 */
import { TransientError } from '@incident-pilot/core';
import {
  createLlmClient,
  createOpsgenieSink,
  createPagerDutySink,
  createSlackApi,
  createSlackSink,
  createWebhookSink,
  SlackApiError,
} from '@incident-pilot/sinks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { failureOf, opened } from './incidents.js';

const REDIRECT = /redirect, not followed/;

describe.each([301, 307])('a sink answered %i', (status) => {
  let server: CaptureServer;
  beforeEach(async () => {
    server = await startCaptureServer();
    server.respondWith({ status, headers: { location: `${server.url}/elsewhere` }, body: 'moved' });
  });
  afterEach(() => server.close());

  const deliveries: [string, () => Promise<unknown>][] = [
    ['Slack webhook', () => createSlackSink({ webhookUrl: `${server.url}/hook` }).deliver(opened())],
    [
      'PagerDuty',
      () => createPagerDutySink({ routingKey: 'R0UTINGKEY0123456789012345678901', url: server.url }).deliver(opened()),
    ],
    ['Opsgenie', () => createOpsgenieSink({ apiKey: 'og-key-0123456789', url: server.url }).deliver(opened())],
    [
      'signed webhook',
      () => createWebhookSink({ url: `${server.url}/hook`, secret: 'x'.repeat(32) }).deliver(opened()),
    ],
  ];

  it.each(deliveries)('%s: one request, failed permanently (not retried) as a redirect', async (_, deliver) => {
    const error = await failureOf(deliver());

    expect(server.requests).toHaveLength(1);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error.message).toMatch(REDIRECT);
    expect(error.message).not.toContain('elsewhere');
  });

  it('Slack Web API: one request, a SlackApiError naming the redirect', async () => {
    const api = createSlackApi({ token: 'xoxb-test', apiUrl: server.url });

    const error = await failureOf(api.call('chat.postMessage', { channel: 'C1', text: 'hi' }));

    expect(server.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error.message).toMatch(REDIRECT);
  });

  it('LLM provider: one request, a failed completion naming the redirect', async () => {
    const client = createLlmClient({ provider: 'openai-compatible', model: 'm', baseUrl: server.url });

    const answer = await client.complete({ system: 's', user: 'u', maxTokens: 10, signal: AbortSignal.timeout(5000) });

    expect(server.requests).toHaveLength(1);
    expect(answer).toEqual({ ok: false, reason: expect.stringMatching(REDIRECT) });
  });
});

describe('a sink answered a 3xx that is no redirect (304 Not Modified)', () => {
  let server: CaptureServer;
  beforeEach(async () => {
    server = await startCaptureServer();
    server.respondWith({ status: 304 }, { status: 304 });
  });
  afterEach(() => server.close());

  it('fails the delivery permanently with the status, without calling it a redirect to configure', async () => {
    const pagerduty = createPagerDutySink({ routingKey: 'R0UTINGKEY0123456789012345678901', url: server.url });
    const slack = createSlackSink({ webhookUrl: `${server.url}/hook` });

    const errors = [await failureOf(pagerduty.deliver(opened())), await failureOf(slack.deliver(opened()))];

    for (const error of errors) {
      expect(error).not.toBeInstanceOf(TransientError);
      expect(error.message).toContain('answered 304');
      expect(error.message).not.toMatch(REDIRECT);
    }
  });
});
