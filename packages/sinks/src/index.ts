export * from './escape.js';
export type { Completion, CompletionRequest, LlmClient, LlmProviderName } from './llm/client.js';
export { checkRewording, type GateVerdict } from './llm/gate.js';
export * from './llm/narrator.js';
export * from './slack.js';
export * from './stdout.js';
