/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Configuration comes from CDK context (see
 * infra/config.ts and cdk.json); cdk-nag's AwsSolutions checks run on every synth, and any unsuppressed
 * finding fails it. Account and region come from the CLI's credentials when there are any, otherwise
 * the stack is environment-agnostic and `npx cdk synth` needs no AWS access.
 */
import { createApp } from './create-app.js';

createApp().app.synth();
