/** What every LLM provider adapter implements: one non-streaming completion, text in, text out. */
import { isRedirect, NO_REDIRECTS, REDIRECT_PROBLEM } from '../redirect.js';

export type LlmProviderName = 'openai' | 'openai-compatible' | 'anthropic' | 'ollama' | 'bedrock';

export interface CompletionRequest {
  /** The instructions (system prompt). */
  system: string;
  /** The report to reword, already wrapped as data. */
  user: string;
  /** Upper bound on the answer, in tokens. */
  maxTokens: number;
  /** Aborts the request (the narrator's timeout). */
  signal: AbortSignal;
}

/** The answer's text, or why there is none (never quoting the provider's error body: it may echo a key). */
export type Completion = { ok: true; text: string } | { ok: false; reason: string };

export interface LlmClient {
  readonly provider: LlmProviderName;
  /** Resolves with a Completion; may reject on network errors and timeouts (the narrator handles both). */
  complete(request: CompletionRequest): Promise<Completion>;
}

export const noText: Completion = { ok: false, reason: 'no text in the answer' };
export const cutAtLimit: Completion = { ok: false, reason: 'answer cut at the token limit' };

/** POSTs JSON and returns the parsed answer, or a Completion naming the status of a refused call. */
export async function postJson(
  fetch: typeof globalThis.fetch,
  provider: LlmProviderName,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<{ ok: true; json: Record<string, unknown> } | { ok: false; reason: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
    ...NO_REDIRECTS,
  });
  if (!response.ok) {
    // The body is not quoted: providers echo parts of a rejected key in it.
    await response.body?.cancel().catch(() => {});
    const why = isRedirect(response.status) ? ` (${REDIRECT_PROBLEM})` : '';
    return { ok: false, reason: `${provider} answered ${response.status}${why}` };
  }
  const json = (await response.json()) as unknown;
  return { ok: true, json: typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {} };
}

/** The text of `value` when it is a non-blank string. */
export const textOf = (value: unknown): Completion =>
  typeof value === 'string' && value.trim() ? { ok: true, text: value } : noText;
