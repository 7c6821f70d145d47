/**
 * Bind helpers: each call sets the environment variable a function reads and grants exactly the IAM
 * actions it calls on that one resource, so a function's permissions are readable next to its wiring
 * (and `grant*ReadWriteData`'s broad action lists never appear).
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { PipelineTable } from './tables.js';

/** The DynamoDB API calls the adapters make. */
export type TableAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'BatchWriteItem'
  | 'BatchGetItem'
  | 'ConditionCheckItem';

/** Actions that can target an index; every other action only applies to the base table. */
const INDEX_ACTIONS: readonly TableAction[] = ['Query'];

/**
 * Sets `env` to the table's name and allows `actions` on the table; `Query` is also allowed on each
 * of its indexes, named one by one. An empty `actions` only sets the variable (every function parses
 * the same environment schema, which requires both table names).
 */
export function bindTable(fn: LambdaFunction, env: string, target: PipelineTable, actions: readonly TableAction[]) {
  fn.addEnvironment(env, target.table.tableName);
  if (actions.length === 0) return;
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: actions.map((a) => `dynamodb:${a}`),
      resources: [target.table.tableArn],
    }),
  );
  const indexActions = actions.filter((a) => INDEX_ACTIONS.includes(a));
  if (indexActions.length > 0 && target.indexNames.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: indexActions.map((a) => `dynamodb:${a}`),
        resources: target.indexNames.map((name) => `${target.table.tableArn}/index/${name}`),
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
