import { readFileSync } from 'node:fs';
import { App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, type StackConfig } from './config.js';
import { IncidentPilotStack } from './stack.js';

export interface CreateAppOptions {
  /** Extra context, merged over what the CLI passes (tests pass cdk.json's context here). */
  readonly context?: Record<string, unknown>;
  readonly outdir?: string;
  /** Run cdk-nag's AwsSolutions pack at synth. @default true */
  readonly nag?: boolean;
  /** Run CDK's built-in CloudFormation template validation at synth. @default true */
  readonly cfnValidation?: boolean;
  /**
   * Bundle the functions with esbuild. Tests that only inspect the template turn it off (the
   * template is the same; asset hashes differ). @default true
   */
  readonly bundling?: boolean;
  /**
   * Target account/region. Default: `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`, which the CDK CLI sets
   * from the current credentials; without credentials both are unset and the stack is
   * environment-agnostic, so `cdk synth` works offline.
   */
  readonly env?: Environment;
}

export interface IncidentPilotApp {
  readonly app: App;
  readonly stack: IncidentPilotStack;
  readonly config: StackConfig;
}

/** Builds the CDK app: configuration from context, one stack per stage, cdk-nag as an aspect. */
export function createApp(options: CreateAppOptions = {}): IncidentPilotApp {
  const app = new App({
    context: { ...options.context, ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}) },
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cfnValidation ?? true,
  });
  // The whole context (cdk.json, then `-c` overrides), so a misspelt key is named, not ignored.
  const config = parseConfig(app.node.getAllContext());
  const stack = new IncidentPilotStack(app, `IncidentPilot-${config.stage}`, {
    config,
    description: `incident-pilot (${config.stage}): Alertmanager webhook → rule engine → incidents and Slack`,
    env: options.env ?? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Tags.of(stack).add('project', 'incident-pilot');
  Tags.of(stack).add('stage', config.stage);
  // cdk-nag 3 is a policy-validation plugin (no longer an Aspect): any unacknowledged finding fails synth
  // and is listed in cdk.out/policy-validation-report.json.
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, config };
}

/**
 * The `context` of cdk.json (feature flags and configuration defaults). The CLI hands it to the app
 * itself; tests and scripts that build the app in-process read it here so they synthesize the same thing.
 */
export function readCdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}
