/**
 * OpenAI chat completions, and any server that speaks them (`openai-compatible`: vLLM, llama.cpp,
 * LM Studio, LiteLLM, Ollama's /v1). Only the token field differs: OpenAI's reasoning models refuse
 * `max_tokens`, while older compatible servers know only that one.
 */
import { type CompletionRequest, cutAtLimit, type LlmClient, noText, postJson, textOf } from './client.js';

export interface OpenAiClientOptions {
  provider: 'openai' | 'openai-compatible';
  /** The full chat-completions URL. */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer`; empty for keyless local servers. */
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}

export function createOpenAiClient({
  provider,
  url,
  model,
  apiKey = '',
  fetch = globalThis.fetch,
}: OpenAiClientOptions): LlmClient {
  return {
    provider,
    async complete({ system, user, maxTokens, signal }: CompletionRequest) {
      const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
      const body = {
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ],
        [provider === 'openai' ? 'max_completion_tokens' : 'max_tokens']: maxTokens,
      };
      const answer = await postJson(fetch, provider, url, headers, body, signal);
      if (!answer.ok) return answer;
      const choices = answer.json.choices;
      const choice = (Array.isArray(choices) ? choices[0] : undefined) as
        | { message?: { content?: unknown }; finish_reason?: unknown }
        | undefined;
      if (!choice) return noText;
      if (choice.finish_reason === 'length') return cutAtLimit;
      return textOf(choice.message?.content);
    },
  };
}
