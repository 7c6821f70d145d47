/**
 * Bind helpers: each call sets the environment variable a function reads and grants exactly the IAM
 * actions it calls on that one resource, so a function's permissions are readable next to its wiring
 * (and `grant*ReadWriteData`'s broad action lists never appear).
 */
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { inferenceProfileOf } from '../config.js';
import type { PipelineTable } from './tables.js';

/** The DynamoDB API calls the adapter makes on a base table. */
export type TableAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'BatchWriteItem'
  | 'BatchGetItem'
  | 'ConditionCheckItem';

export interface TableAccess {
  /** Allowed on the base table. Empty: the variable only (every function parses both table names). */
  readonly actions: readonly TableAction[];
  /** Indexes the function queries: `dynamodb:Query` on each of these index ARNs, never `index/*`. */
  readonly queryIndexes?: readonly string[];
}

/** Sets `env` to the table's name and allows exactly `access` on the table and the named indexes. */
export function bindTable(fn: LambdaFunction, env: string, target: PipelineTable, access: TableAccess) {
  fn.addEnvironment(env, target.table.tableName);
  if (access.actions.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: access.actions.map((a) => `dynamodb:${a}`),
        resources: [target.table.tableArn],
      }),
    );
  }
  const indexes = access.queryIndexes ?? [];
  const unknown = indexes.filter((name) => !target.indexNames.includes(name));
  if (unknown.length > 0) throw new Error(`bindTable: the table has no index ${unknown.join(', ')}`);
  if (indexes.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: indexes.map((name) => `${target.table.tableArn}/index/${name}`),
      }),
    );
  }
}

/** The SQS API calls a producer makes; consuming is granted by the worker's event source mapping. */
export type QueueAction = 'SendMessage';

/** Sets `INCIDENT_PILOT_QUEUE_URL` and allows `actions` on that queue (none: the variable only). */
export function bindQueue(fn: LambdaFunction, queue: IQueue, actions: readonly QueueAction[]) {
  fn.addEnvironment('INCIDENT_PILOT_QUEUE_URL', queue.queueUrl);
  if (actions.length === 0) return;
  fn.addToRolePolicy(new PolicyStatement({ actions: actions.map((a) => `sqs:${a}`), resources: [queue.queueArn] }));
}

/**
 * Sets `env` to the secret's ARN and allows reading that one secret. The value itself never reaches
 * the template or the environment: the function fetches it at run time (cached).
 */
export function bindSecret(fn: LambdaFunction, env: string, secret: ISecret) {
  fn.addEnvironment(env, secret.secretArn);
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
}

export interface BedrockModel {
  /** A foundation-model id or a system-defined inference-profile id (`eu.anthropic.…`). */
  readonly modelId: string;
  /** The Region the function calls; default: the stack's. */
  readonly region?: string;
  /** For a geographic inference profile: the Regions it routes requests to. */
  readonly profileRegions?: readonly string[];
}

/**
 * Allows `bedrock:InvokeModel` (which also authorizes Converse) on exactly the configured model. A
 * foundation model: its ARN. An inference profile: the profile's ARN, plus the underlying foundation
 * model in each Region the profile routes to — a profile needs both — and those only when called
 * through that profile (`bedrock:InferenceProfileArn`), so the model cannot be invoked directly.
 * A `global.` profile routes anywhere: AWS addresses its model by the Region-less ARN.
 */
export function bindBedrockModel(fn: LambdaFunction, { modelId, region, profileRegions = [] }: BedrockModel) {
  const stack = Stack.of(fn);
  const home = region || stack.region;
  const modelArn = (r: string, id: string) => `arn:${stack.partition}:bedrock:${r}::foundation-model/${id}`;
  const profile = inferenceProfileOf(modelId);
  if (!profile) {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [modelArn(home, modelId)] }));
    return;
  }
  const profileArn = `arn:${stack.partition}:bedrock:${home}:${stack.account}:inference-profile/${modelId}`;
  fn.addToRolePolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [profileArn] }));
  const regions = profile.geography === 'global' ? [home, ''] : [...new Set(profileRegions)];
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['bedrock:InvokeModel'],
      resources: regions.map((r) => modelArn(r, profile.modelId)),
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
    }),
  );
}
