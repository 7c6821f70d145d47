export * from './escape.js';
export { clip, isUsableKey } from './http.js';
export type { Completion, CompletionRequest, LlmClient, LlmProviderName } from './llm/client.js';
/** The gate's former name. */
export { checkRewording, checkRewording as guardRephrase, type GateVerdict } from './llm/gate.js';
export * from './llm/narrator.js';
export * from './opsgenie.js';
export * from './pagerduty.js';
export * from './slack.js';
export * from './slack-api.js';
export * from './slack-app.js';
export * from './slack-app-message.js';
export * from './slack-blocks.js';
export * from './stdout.js';
export * from './webhook.js';
