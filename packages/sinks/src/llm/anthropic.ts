/** Anthropic messages API (`x-api-key`, a pinned `anthropic-version`). */
import { type CompletionRequest, cutAtLimit, type LlmClient, postJson, textOf } from './client.js';

export interface AnthropicClientOptions {
  /** The full messages URL. */
  url: string;
  model: string;
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}

export function createAnthropicClient({
  url,
  model,
  apiKey = '',
  fetch = globalThis.fetch,
}: AnthropicClientOptions): LlmClient {
  return {
    provider: 'anthropic',
    async complete({ system, user, maxTokens, signal }: CompletionRequest) {
      const headers: Record<string, string> = { 'anthropic-version': '2023-06-01' };
      if (apiKey) headers['x-api-key'] = apiKey;
      const body = { model, max_tokens: maxTokens, system, messages: [{ role: 'user', content: user }] };
      const answer = await postJson(fetch, 'anthropic', url, headers, body, signal);
      if (!answer.ok) return answer;
      if (answer.json.stop_reason === 'max_tokens') return cutAtLimit;
      const parts = Array.isArray(answer.json.content)
        ? (answer.json.content as { type?: unknown; text?: unknown }[])
        : [];
      return textOf(
        parts
          .filter((p) => p?.type === 'text' && typeof p.text === 'string')
          .map((p) => p.text)
          .join(''),
      );
    },
  };
}
