import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Makes `require` available inside the ESM bundle: a few CommonJS dependencies of the AWS SDK call
 * `require('node:…')`, which esbuild leaves as a dynamic require that ESM does not define.
 */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __ipCreateRequire } from 'node:module'; const require = __ipCreateRequire(import.meta.url);";

/**
 * How every function is bundled (esbuild through NodejsFunction). Exported so that
 * `scripts/bench-cold-start.ts` builds exactly what the stack deploys.
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  minify: true,
  sourceMap: false,
  target: 'node24',
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK v3 too: the versions we test with, not whatever the runtime ships.
  externalModules: [] as string[],
  banner: ESM_REQUIRE_SHIM,
} satisfies BundlingOptions;

/** Lambda refuses a function whose environment variables, names and values together, exceed 4 KB. */
export const ENVIRONMENT_LIMIT_BYTES = 4096;
/**
 * What a reference resolves to at deploy time, at most (about): a queue URL or a secret ARN with the
 * stage in its generated name is 90-120 characters.
 */
const REFERENCE_BYTES = 128;

export interface PipelineFunctionProps {
  /** Absolute path of the handler file (it must `export const handler`). */
  readonly entry: string;
  readonly description: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 seconds (the HTTP functions answer well within API Gateway's 30 s) */
  readonly timeout?: Duration;
  readonly logRetention: RetentionDays;
  /** Applied to the log group. */
  readonly removalPolicy: RemovalPolicy;
  readonly tracing: boolean;
  /** Non-secret configuration; resource names and secret ARNs are added by the `bind*` helpers. */
  readonly environment: Record<string, string>;
}

/**
 * One Lambda function of the pipeline with the house defaults fixed: Node.js 24 on arm64, an ESM
 * bundle with the AWS SDK v3 inside it (no dependence on the runtime's SDK version), its own log
 * group, and its own role that starts with nothing but the right to write to that log group.
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });

    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed policy grants
    // logs:CreateLogGroup/PutLogEvents on every log group in the account (cdk-nag IAM4).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `incident-pilot ${id} function`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group ARN ends in `:*`, which covers exactly its own log streams.
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: props.environment,
      bundling: BUNDLING,
    });
    // Checked at synth: the deployment would fail on it, after everything before the function was created.
    this.node.addValidation({ validate: () => this.environmentProblems() });
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level ' +
          'permissions; the role has no other statement on `*`.',
      });
    }
  }

  /**
   * The environment's size in bytes, if it is over Lambda's limit. Lambda measures the variables as one
   * JSON object (`{"NAME":"value",…}`, a value's quotes escaped); references are counted at their longest.
   */
  private environmentProblems(): string[] {
    const cfn = this.function.node.defaultChild as CfnFunction;
    const { variables = {} } = (Stack.of(this).resolve(cfn.environment) ?? {}) as {
      variables?: Record<string, unknown>;
    };
    const json = (value: string) => Buffer.byteLength(JSON.stringify(value));
    const size = (value: unknown) => (typeof value === 'string' ? json(value) : REFERENCE_BYTES + 2);
    // `"NAME":"value"` and the comma after it (the last one's stands for the closing brace).
    const entries = Object.entries(variables).map(([name, value]) => [name, json(name) + 2 + size(value)] as const);
    const total = 1 + entries.reduce((sum, [, bytes]) => sum + bytes, 0);
    if (total <= ENVIRONMENT_LIMIT_BYTES) return [];
    const [largest, bytes] = entries.reduce((a, b) => (b[1] > a[1] ? b : a));
    return [
      `its environment variables take about ${total} bytes, over Lambda's limit of ${ENVIRONMENT_LIMIT_BYTES}; ` +
        `the largest is ${largest} (${bytes} bytes)`,
    ];
  }
}
