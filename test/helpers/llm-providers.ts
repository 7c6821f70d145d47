/**
 * Stand-ins for the LLM providers' APIs: a capture server on 127.0.0.1 answering in each API's real
 * response shape — a text, an answer cut at the token limit, a throttle, a failure — and, with
 * `delayMs`, slowly.
 *
 * ```ts
 * const server = await startCaptureServer();
 * server.respondWith(llmAnswer('bedrock', 'reworded report'), llmThrottled('bedrock'));
 * ```
 */
import type { LlmProviderName } from '@incident-pilot/sinks';
import type { CannedResponse } from './capture-server.js';

/** The path each provider's call goes to, as the narrator builds it from a base URL. */
export const LLM_PATHS: Record<LlmProviderName, string> = {
  openai: '/v1/chat/completions',
  'openai-compatible': '/v1/chat/completions',
  anthropic: '/v1/messages',
  ollama: '/api/chat',
  bedrock: '/model/{modelId}/converse',
};

/** The base URL to configure so that calls land on `LLM_PATHS` of `serverUrl`. */
export const llmBaseUrl = (provider: LlmProviderName, serverUrl: string) =>
  provider === 'openai' || provider === 'openai-compatible' ? `${serverUrl}/v1` : serverUrl;

function body(provider: LlmProviderName, text: string, cut: boolean): object {
  switch (provider) {
    case 'openai':
    case 'openai-compatible':
      return {
        id: 'chatcmpl-standin',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: cut ? 'length' : 'stop' }],
        usage: { prompt_tokens: 400, completion_tokens: 300, total_tokens: 700 },
      };
    case 'anthropic':
      return {
        id: 'msg_standin',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text }],
        stop_reason: cut ? 'max_tokens' : 'end_turn',
        usage: { input_tokens: 400, output_tokens: 300 },
      };
    case 'ollama':
      return {
        model: 'llama3.2',
        created_at: '2026-11-25T04:00:00.000Z',
        message: { role: 'assistant', content: text },
        done: true,
        done_reason: cut ? 'length' : 'stop',
        prompt_eval_count: 400,
        eval_count: 300,
      };
    case 'bedrock':
      return {
        output: { message: { role: 'assistant', content: [{ text }] } },
        stopReason: cut ? 'max_tokens' : 'end_turn',
        usage: { inputTokens: 400, outputTokens: 300, totalTokens: 700 },
        metrics: { latencyMs: 420 },
      };
  }
}

/** A successful answer carrying `text`. */
export const llmAnswer = (provider: LlmProviderName, text: string, extra: CannedResponse = {}): CannedResponse => ({
  body: body(provider, text, false),
  ...extra,
});

/** An answer stopped at the token limit. */
export const llmCut = (provider: LlmProviderName, text: string): CannedResponse => ({
  body: body(provider, text, true),
});

/** A 429, as each API throttles (Bedrock names the error in `x-amzn-errortype`). */
export function llmThrottled(provider: LlmProviderName): CannedResponse {
  if (provider === 'bedrock') {
    return {
      status: 429,
      headers: { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
      body: { message: 'Too many requests, please wait before trying again.' },
    };
  }
  return { status: 429, headers: { 'retry-after': '20' }, body: { error: { message: 'Rate limit reached' } } };
}

/** A 500 (Bedrock: an InternalServerException). */
export function llmFailed(provider: LlmProviderName): CannedResponse {
  if (provider === 'bedrock') {
    return {
      status: 500,
      headers: { 'x-amzn-errortype': 'InternalServerException' },
      body: { message: 'Internal server error' },
    };
  }
  return { status: 500, body: { error: { message: 'overloaded' } } };
}
