export * from './escape.js';
export * from './llm-narrator.js';
export * from './slack.js';
export * from './stdout.js';
