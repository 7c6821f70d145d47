/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Configuration comes from CDK context (see
 * infra/config.ts and cdk.json); cdk-nag's AwsSolutions checks run on every synth, and any unacknowledged
 * finding fails it. Account and region come from the CLI's credentials when there are any, otherwise
 * the stack is environment-agnostic and `npx cdk synth` needs no AWS access.
 */
import { ConfigError } from './config.js';
import { createApp } from './create-app.js';

try {
  createApp().app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
