/**
 * Amazon Bedrock through the Runtime Converse API, signed with the function's role: no key to
 * store, and the report stays in the account. `model` is a model id or an inference-profile id.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type Completion, type CompletionRequest, cutAtLimit, type LlmClient, textOf } from './client.js';

export interface BedrockClientOptions {
  model: string;
  /** Defaults to a client for `region` (or the function's region) with the default credential chain. */
  client?: BedrockRuntimeClient;
  region?: string;
  /** An endpoint override (a VPC interface endpoint; a stand-in in tests). */
  endpoint?: string;
}

export function createBedrockClient({ model, client, region, endpoint }: BedrockClientOptions): LlmClient {
  let runtime = client;
  return {
    provider: 'bedrock',
    async complete({ system, user, maxTokens, signal }: CompletionRequest): Promise<Completion> {
      runtime ??= new BedrockRuntimeClient({
        // One attempt: the narrator's timeout bounds the call, and the template is the retry.
        maxAttempts: 1,
        // HTTP/1.1 like the other SDK clients: the client's HTTP/2 default serves bidirectional
        // streaming, which Converse does not use, and breaks on HTTP/1.1-only proxies and stand-ins.
        requestHandler: new NodeHttpHandler(),
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
      });
      const command = new ConverseCommand({
        modelId: model,
        system: [{ text: system }],
        messages: [{ role: 'user', content: [{ text: user }] }],
        inferenceConfig: { maxTokens },
      });
      try {
        const answer = await runtime.send(command, { abortSignal: signal });
        if (answer.stopReason === 'max_tokens') return cutAtLimit;
        const parts = answer.output?.message?.content ?? [];
        return textOf(parts.map((p) => p.text ?? '').join(''));
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        // Timeouts and network errors go to the narrator, which names them like any provider's.
        if (!status) throw error;
        return { ok: false, reason: `bedrock answered ${status} (${e.name ?? 'error'})` };
      }
    },
  };
}
