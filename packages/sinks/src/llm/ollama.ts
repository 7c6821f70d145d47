/** Ollama's native chat API (`POST /api/chat`, not streamed); no key: Ollama has none. */
import { type CompletionRequest, cutAtLimit, type LlmClient, postJson, textOf } from './client.js';

export interface OllamaClientOptions {
  /** The full /api/chat URL. */
  url: string;
  model: string;
  fetch?: typeof globalThis.fetch;
}

export function createOllamaClient({ url, model, fetch = globalThis.fetch }: OllamaClientOptions): LlmClient {
  return {
    provider: 'ollama',
    async complete({ system, user, maxTokens, signal }: CompletionRequest) {
      const body = {
        model,
        stream: false,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ],
        options: { num_predict: maxTokens },
      };
      const answer = await postJson(fetch, 'ollama', url, {}, body, signal);
      if (!answer.ok) return answer;
      if (answer.json.done_reason === 'length') return cutAtLimit;
      return textOf((answer.json.message as { content?: unknown } | undefined)?.content);
    },
  };
}
