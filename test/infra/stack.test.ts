import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../functions/lib/env.js';
import { DATA_TABLE, INCIDENTS_TABLE, projectedAttributes } from '../../packages/aws/src/tables.js';
import { buildTestApp, describeResource, friendly, grantsOf, SYNTH_TIMEOUT_MS } from './synth.js';

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

// The template is the same with or without bundling (only asset hashes differ); bundles are
// checked in bundle-size.test.ts, validation and cdk-nag in nag.test.ts.
const FAST = { bundling: false, nag: false, cfnValidation: false } as const;

let template: Template;
let resources: Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const functionId = (name: string) => {
  const found = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith(`${name}Function`));
  if (!found) throw new Error(`no ${name} function`);
  return found;
};

beforeAll(() => {
  const { stack } = buildTestApp({}, FAST);
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, SYNTH_TIMEOUT_MS);

describe('incident-pilot stack', () => {
  it('has the expected resources, and no custom-resource functions', () => {
    const counts: Record<string, number> = {
      'AWS::Lambda::Function': 5,
      'AWS::DynamoDB::Table': 2,
      'AWS::SQS::Queue': 2,
      'AWS::SecretsManager::Secret': 8,
      'AWS::CloudWatch::Alarm': 12,
      'AWS::CloudWatch::Dashboard': 1,
      'AWS::Logs::QueryDefinition': 5,
      'AWS::SNS::Topic': 1,
      'AWS::KMS::Key': 1,
      'AWS::Logs::LogGroup': 6,
      'AWS::ApiGatewayV2::Api': 1,
      'AWS::ApiGatewayV2::Stage': 1,
      // The route table, plus $default (404/405 in the API's error shape).
      'AWS::ApiGatewayV2::Route': 11,
      // The heartbeat check is deployed only with heartbeatMinutes > 0.
      'AWS::Scheduler::Schedule': 0,
      'AWS::Lambda::EventSourceMapping': 1,
      'AWS::IAM::Role': 5,
    };
    for (const [type, count] of Object.entries(counts)) template.resourceCountIs(type, count);
    // Explicit log groups, no LogRetention or other custom resources (and their hidden functions).
    expect(Object.values(resources).filter((r) => r.Type.startsWith('Custom::'))).toEqual([]);
    template.resourceCountIs('AWS::CloudFormation::CustomResource', 0);
  });

  describe('functions', () => {
    it('run Node.js 24 on arm64, each logging to its own log group', () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        expect(fn.Properties.Runtime, id).toBe('nodejs24.x');
        expect(fn.Properties.Architectures, id).toEqual(['arm64']);
        expect(fn.Properties.Handler, id).toBe('index.handler');
        const logGroup = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(friendly(logGroup), id).toBe(friendly(id).replace(/Function$/, 'Logs'));
      }
    });

    it('gives the worker 30 s and the HTTP functions 10 s', () => {
      expect(functionId('Worker')[1].Properties).toMatchObject({ Timeout: 30, MemorySize: 512 });
      for (const name of ['Alerts', 'Context', 'Query', 'Interactions']) {
        expect(functionId(name)[1].Properties, name).toMatchObject({ Timeout: 10, MemorySize: 256 });
      }
    });

    it('sets only variables the functions read, and they parse with the functions’ env schema', () => {
      const known = Object.keys(envSchema().shape);
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(
          Object.keys(vars).filter((k) => !known.includes(k)),
          id,
        ).toEqual([]);
        // Resolve CloudFormation references to plausible values, then parse like a cold start does.
        const resolved = Object.fromEntries(
          Object.entries(vars).map(([k, v]) => [
            k,
            typeof v === 'string' ? v : k.endsWith('_URL') ? 'https://sqs.eu-west-1.amazonaws.com/1/q' : 'ref',
          ]),
        );
        const parsed = envSchema().safeParse(resolved);
        expect(parsed.success ? [] : parsed.error.issues, id).toEqual([]);
      }
    });

    it('wires each resource to the variable naming it, and each secret only where it is read', () => {
      const envOf = (name: string) =>
        Object.fromEntries(
          Object.entries(
            (functionId(name)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables,
          )
            .filter(([, v]) => typeof v !== 'string')
            .map(([k, v]) => [k, describeResource(v)]),
        );
      const shared = {
        INCIDENT_PILOT_TABLE: 'TablesData',
        INCIDENT_PILOT_INCIDENTS_TABLE: 'TablesIncidents',
        INCIDENT_PILOT_QUEUE_URL: 'QueueJobs',
      };
      expect(envOf('Alerts')).toEqual({ ...shared, INCIDENT_PILOT_TOKEN_SECRET_ARN: 'SecretsToken' });
      expect(envOf('Context')).toEqual({ ...shared, INCIDENT_PILOT_TOKEN_SECRET_ARN: 'SecretsToken' });
      expect(envOf('Query')).toEqual({ ...shared, INCIDENT_PILOT_TOKEN_SECRET_ARN: 'SecretsToken' });
      expect(envOf('Interactions')).toEqual({
        ...shared,
        INCIDENT_PILOT_SLACK_SIGNING_SECRET_ARN: 'SecretsSlackSigningSecret',
        INCIDENT_PILOT_SLACK_BOT_SECRET_ARN: 'SecretsSlackBotToken',
      });
      expect(envOf('Worker')).toEqual({
        ...shared,
        INCIDENT_PILOT_SLACK_SECRET_ARN: 'SecretsSlackWebhook',
        INCIDENT_PILOT_LLM_SECRET_ARN: 'SecretsLlmApiKey',
        INCIDENT_PILOT_PAGERDUTY_SECRET_ARN: 'SecretsPagerDutyRoutingKey',
        INCIDENT_PILOT_OPSGENIE_SECRET_ARN: 'SecretsOpsgenieApiKey',
        INCIDENT_PILOT_API_URL: 'ApiHttpApi',
        INCIDENT_PILOT_SLACK_BOT_SECRET_ARN: 'SecretsSlackBotToken',
      });
    });
  });

  describe('IAM', () => {
    const roleOf = (name: string) =>
      (functionId(name)[1].Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const logs = (name: string) => [`logs:CreateLogStream on ${name}Logs`, `logs:PutLogEvents on ${name}Logs`];

    it('alerts: store alerts, enqueue, read the token', () => {
      // GetItem only for a wake-up claim the SDK retried: ingest reads alert records in batches.
      expect(grantsOf(resources, roleOf('Alerts') ?? '')).toEqual(
        [
          ...logs('Alerts'),
          'dynamodb:BatchGetItem on TablesData',
          'dynamodb:GetItem on TablesData',
          'dynamodb:PutItem on TablesData',
          'dynamodb:UpdateItem on TablesData',
          'dynamodb:Query on TablesData',
          'sqs:SendMessage on QueueJobs',
          'secretsmanager:GetSecretValue on SecretsToken',
        ].sort(),
      );
    });

    it("context: batch-write context items, wake the service's open incidents, read the token", () => {
      expect(grantsOf(resources, roleOf('Context') ?? '')).toEqual(
        [
          ...logs('Context'),
          'dynamodb:BatchWriteItem on TablesData',
          'dynamodb:GetItem on TablesData',
          'dynamodb:Query on TablesData',
          'dynamodb:UpdateItem on TablesData',
          'sqs:SendMessage on QueueJobs',
          'secretsmanager:GetSecretValue on SecretsToken',
        ].sort(),
      );
    });

    it('query: read incidents, stats and rule scores, resolve (versioned put, job), read the token', () => {
      // Reads only on the data table: the worker counts the resolution (its stats sink), not this function.
      expect(grantsOf(resources, roleOf('Query') ?? '')).toEqual(
        [
          ...logs('Query'),
          'dynamodb:GetItem on TablesData',
          'dynamodb:Query on TablesData',
          'dynamodb:GetItem on TablesIncidents',
          'dynamodb:BatchGetItem on TablesIncidents',
          'dynamodb:PutItem on TablesIncidents',
          'dynamodb:Query on TablesIncidents/index/byOpenedAt',
          'dynamodb:Query on TablesIncidents/index/openByOpenedAt',
          'dynamodb:Query on TablesIncidents/index/byService',
          'sqs:SendMessage on QueueJobs',
          'secretsmanager:GetSecretValue on SecretsToken',
        ].sort(),
      );
    });

    it('interactions: patch and resolve incidents, votes, a job; the signing secret and bot token only', () => {
      expect(grantsOf(resources, roleOf('Interactions') ?? '')).toEqual(
        [
          ...logs('Interactions'),
          'dynamodb:PutItem on TablesData',
          'dynamodb:GetItem on TablesIncidents',
          'dynamodb:PutItem on TablesIncidents',
          'dynamodb:UpdateItem on TablesIncidents',
          'sqs:SendMessage on QueueJobs',
          'secretsmanager:GetSecretValue on SecretsSlackSigningSecret',
          'secretsmanager:GetSecretValue on SecretsSlackBotToken',
        ].sort(),
      );
    });

    it('worker: the data table, incidents and the open index, consume the queue, Slack, LLM and paging secrets', () => {
      expect(grantsOf(resources, roleOf('Worker') ?? '')).toEqual(
        [
          ...logs('Worker'),
          ...['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchWriteItem'].map(
            (a) => `dynamodb:${a} on TablesData`,
          ),
          'dynamodb:GetItem on TablesIncidents',
          'dynamodb:PutItem on TablesIncidents',
          'dynamodb:UpdateItem on TablesIncidents',
          'dynamodb:Query on TablesIncidents/index/openByOpenedAt',
          ...[
            'SendMessage',
            'ReceiveMessage',
            'DeleteMessage',
            'ChangeMessageVisibility',
            'GetQueueAttributes',
            'GetQueueUrl',
          ].map((a) => `sqs:${a} on QueueJobs`),
          'secretsmanager:GetSecretValue on SecretsSlackWebhook',
          'secretsmanager:GetSecretValue on SecretsLlmApiKey',
          'secretsmanager:GetSecretValue on SecretsPagerDutyRoutingKey',
          'secretsmanager:GetSecretValue on SecretsOpsgenieApiKey',
          'secretsmanager:GetSecretValue on SecretsSlackBotToken',
        ].sort(),
      );
    });

    it('has no wildcard action or resource in any policy, and no managed policy on any role', () => {
      for (const [id, policy] of ofType('AWS::IAM::Policy')) {
        const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
        for (const s of statements) {
          for (const action of [s.Action].flat() as string[]) expect(action, id).not.toContain('*');
          for (const resource of [s.Resource].flat()) expect(resource, id).not.toBe('*');
        }
      }
      for (const [id, role] of ofType('AWS::IAM::Role')) {
        expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
        expect(role.Properties.Policies, id).toBeUndefined();
      }
    });
  });

  describe('queue', () => {
    it('feeds the worker in batches of 10 with partial-batch failures and bounded concurrency', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: functionId('Worker')[0] },
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 5 },
      });
    });

    it('parks a job in the dead-letter queue after 5 receives; the DLQ keeps it 14 days', () => {
      const [dlqId] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('QueueDeadLetter')) ?? [''];
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
      });
      expect(resources[dlqId]?.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 86_400 });
    });

    it('keeps a job invisible for at least 6x the worker timeout', () => {
      const [, jobs] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('QueueJobs')) ?? [];
      const workerTimeout = functionId('Worker')[1].Properties.Timeout as number;
      expect(jobs?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout);
    });

    it('encrypts both queues and refuses requests without TLS', () => {
      for (const [id, queue] of ofType('AWS::SQS::Queue')) expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      const policies = ofType('AWS::SQS::QueuePolicy');
      expect(policies).toHaveLength(2);
      for (const [id, policy] of policies) {
        expect(policy.Properties.PolicyDocument, id).toMatchObject({
          Statement: expect.arrayContaining([
            expect.objectContaining({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        });
      }
    });
  });

  describe('tables', () => {
    it('are on demand, point-in-time recoverable, encrypted, retained and deletion-protected', () => {
      for (const [id, table] of ofType('AWS::DynamoDB::Table')) {
        expect(table.Properties, id).toMatchObject({
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: true,
        });
        expect(table.DeletionPolicy, id).toBe('Retain');
      }
    });

    it('data table: pk/sk strings and TTL on expiresAt, as packages/aws/src/tables.ts defines', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: DATA_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: DATA_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: DATA_TABLE.ttlAttribute, Enabled: true },
      });
      expect(DATA_TABLE).toMatchObject({ partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' });
    });

    it('incidents table: pk id; three indexes, each projecting a few attributes', () => {
      const gsi = (index: { indexName: string; partitionKey: string; sortKey: string }) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: projectedAttributes(index) },
      });
      const [, incidents] = ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('TablesIncidents')) ?? [];
      expect(incidents?.Properties).toMatchObject({
        KeySchema: [{ AttributeName: INCIDENTS_TABLE.partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          gsi(INCIDENTS_TABLE.byOpenedAt),
          gsi(INCIDENTS_TABLE.openByOpenedAt),
          gsi(INCIDENTS_TABLE.byService),
        ],
      });
      const definitions = (incidents?.Properties.AttributeDefinitions ?? []) as Record<string, string>[];
      const attributes = definitions.map((a) => `${a.AttributeName}:${a.AttributeType}`);
      expect(attributes.sort()).toEqual(['id:S', 'listPk:S', 'openPk:S', 'openedAt:S', 'service:S']);
    });

    it('incidents table: only the open index holds fingerprints, which change on most folds', () => {
      const [, incidents] = ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('TablesIncidents')) ?? [];
      const indexes = (incidents?.Properties.GlobalSecondaryIndexes ?? []) as {
        IndexName: string;
        Projection: { NonKeyAttributes: string[] };
      }[];
      const holding = indexes.filter((i) => i.Projection.NonKeyAttributes.includes('fingerprints'));

      expect(indexes).toHaveLength(3);
      expect(holding.map((i) => i.IndexName)).toEqual([INCIDENTS_TABLE.openByOpenedAt.indexName]);
    });
  });

  describe('secrets', () => {
    it('are generated at deploy time (letters and digits, ≥ 32 characters); no value in the template', () => {
      for (const [id, secret] of ofType('AWS::SecretsManager::Secret')) {
        expect(secret.Properties.SecretString, id).toBeUndefined();
        expect(secret.Properties.GenerateSecretString, id).toMatchObject({ ExcludePunctuation: true });
        const length = (secret.Properties.GenerateSecretString as { PasswordLength: number }).PasswordLength;
        expect(length, id).toBeGreaterThanOrEqual(32);
      }
      expect(JSON.stringify(template.toJSON())).not.toContain('resolve:secretsmanager');
    });
  });

  describe('HTTP API', () => {
    it('routes every endpoint to its function, anything else ($default) to query, with payload format 2.0', () => {
      const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
      expect(routes.sort()).toEqual(
        [
          'POST /alerts',
          'POST /context/{kind}',
          'GET /api/incidents',
          'GET /api/incidents/{id}',
          'POST /api/incidents/{id}/resolve',
          'GET /api/stats',
          'GET /api/rules',
          'GET /openapi.json',
          'GET /healthz',
          'POST /slack/interactions',
          '$default',
        ].sort(),
      );
      const targets = Object.fromEntries(
        ofType('AWS::ApiGatewayV2::Integration').map(([id, i]) => [id, JSON.stringify(i.Properties.IntegrationUri)]),
      );
      for (const [, route] of ofType('AWS::ApiGatewayV2::Route')) {
        const key = route.Properties.RouteKey as string;
        const integration = (route.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1] as {
          Ref: string;
        };
        const fn =
          key === 'POST /alerts'
            ? 'Alerts'
            : key.startsWith('POST /context')
              ? 'Context'
              : key.startsWith('POST /slack')
                ? 'Interactions'
                : 'Query';
        expect(targets[integration.Ref], key).toContain(functionId(fn)[0]);
      }
      for (const [id, i] of ofType('AWS::ApiGatewayV2::Integration')) {
        expect(i.Properties.PayloadFormatVersion, id).toBe('2.0');
      }
    });

    it('throttles the default stage and writes JSON access logs to its own log group', () => {
      const [[, stage] = ['', undefined]] = ofType('AWS::ApiGatewayV2::Stage');
      expect(stage?.Properties).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      });
      const access = stage?.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
      expect(describeResource(access.DestinationArn)).toBe('ApiAccessLogs');
      const format = JSON.parse(access.Format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
      expect(access.Format).not.toMatch(/authorization|header/i);
    });
  });

  describe('alarms', () => {
    it('watch the DLQ, queue age, worker errors and throttles, each HTTP function, API 4xx on alerts and 5xx', () => {
      const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => {
        const p = a.Properties;
        if (p.Metrics) return `${(p.Metrics as { Expression?: string }[])[0]?.Expression} > ${p.Threshold}`;
        const dims = (p.Dimensions as { Value: unknown }[]).map((d) => describeResource(d.Value)).join(',');
        return `${p.Namespace} ${p.MetricName} ${dims} > ${p.Threshold}`;
      });
      expect(alarms.sort()).toEqual(
        [
          'AWS/SQS ApproximateNumberOfMessagesVisible QueueDeadLetter > 0',
          'AWS/SQS ApproximateAgeOfOldestMessage QueueJobs > 300',
          'AWS/Lambda Errors WorkerFunction > 0',
          'AWS/Lambda Throttles WorkerFunction > 0',
          'AWS/Lambda Errors AlertsFunction > 0',
          'AWS/Lambda Errors ContextFunction > 0',
          'AWS/Lambda Errors QueryFunction > 0',
          'AWS/Lambda Errors InteractionsFunction > 0',
          'AWS/ApiGateway 5xx ApiHttpApi > 0',
          'IncidentPilot NotificationsFailed incident-pilot > 0',
          'IncidentPilot NotificationLatency incident-pilot > 300000',
          'FILL(u, 0) + FILL(i, 0) + FILL(q, 0) + FILL(p, 0) > 0',
        ].sort(),
      );
    });

    it('notify the encrypted, TLS-only topic on alarm and on recovery', () => {
      const [[topicId] = ['']] = ofType('AWS::SNS::Topic');
      for (const [id, alarm] of ofType('AWS::CloudWatch::Alarm')) {
        expect(alarm.Properties, id).toMatchObject({
          AlarmActions: [{ Ref: topicId }],
          OKActions: [{ Ref: topicId }],
          TreatMissingData: 'notBreaching',
        });
      }
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          ]),
        },
      });
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('are on a dashboard with the API, the functions and the queues', () => {
      const body = JSON.stringify(ofType('AWS::CloudWatch::Dashboard')[0]?.[1].Properties.DashboardBody);
      for (const metric of [
        'Count',
        '4xx',
        '5xx',
        'Latency',
        'Invocations',
        'Errors',
        'Duration',
        'ApproximateNumberOfMessagesVisible',
        'ApproximateAgeOfOldestMessage',
        // The functions' own (EMF) metrics.
        'AlertsReceived',
        'AlertsDuplicate',
        'AlertsRejected',
        'IncidentsOpened',
        'IncidentsResolved',
        'NotificationsSent',
        'NotificationsFailed',
        'NotificationLatency',
        'JobDuration',
        'Findings',
      ]) {
        expect(body).toContain(`\\"${metric}\\"`);
      }
      expect(body).toContain('\\"IncidentPilot\\"');
      expect(body).toContain('\\"deploy.recent_correlated\\"');
      // Every sink's `sink` dimension value (README, Logs and metrics), the Slack app's included.
      for (const sink of ['stdout', 'slack', 'slack-app', 'pagerduty', 'opsgenie', 'webhook']) {
        expect(body, sink).toContain(`\\"sink\\",\\"${sink}\\"`);
      }
    });

    it('have saved Logs Insights queries for the first look, on the log messages the code writes', () => {
      const queries: Record<string, { QueryString: string; LogGroupNames: unknown[] }> = Object.fromEntries(
        ofType('AWS::Logs::QueryDefinition').map(([, q]) => [q.Properties.Name, q.Properties]),
      );
      expect(Object.keys(queries).sort()).toEqual(
        ['deferred-jobs', 'errors', 'failed-jobs', 'failed-notifications', 'refused-requests'].map(
          (name) => `incident-pilot/prod/${name}`,
        ),
      );
      const workerLogs = { Ref: ofType('AWS::Logs::LogGroup').find(([id]) => id.startsWith('WorkerLogs'))?.[0] };
      expect(queries['incident-pilot/prod/failed-jobs']?.LogGroupNames).toEqual([workerLogs]);
      expect(queries['incident-pilot/prod/errors']?.LogGroupNames).toHaveLength(5);
      // Only the functions behind the API write `request` lines.
      const logsOf = (names: string[]) =>
        names.map((name) => ({ Ref: ofType('AWS::Logs::LogGroup').find(([id]) => id.startsWith(`${name}Logs`))?.[0] }));
      expect(queries['incident-pilot/prod/refused-requests']?.LogGroupNames).toEqual(
        logsOf(['Alerts', 'Context', 'Query', 'Interactions']),
      );
      // A renamed log message would leave its query finding nothing.
      const source = ['functions/worker.ts', 'functions/lib/http.ts', 'packages/core/src/pipeline/notify.ts']
        .map((file) => readFileSync(join(import.meta.dirname, '../..', file), 'utf8'))
        .join('\n');
      for (const { QueryString } of Object.values(queries)) {
        for (const [, message] of QueryString.matchAll(/message = "([^"]+)"/g)) {
          expect(source, message).toContain(`'${message}'`);
        }
      }
    });

    it('find a failed invocation with the errors query: the lines Lambda and the runtime write have no `level`', () => {
      const [errors] = ofType('AWS::Logs::QueryDefinition')
        .map(([, q]) => q.Properties as { Name: string; QueryString: string })
        .filter((q) => q.Name.endsWith('/errors'));
      const query = errors?.QueryString ?? '';
      expect(query).toContain('level = "ERROR"');
      // What a `<function>-errors` alarm counts: Node.js runtime lines (text format) and Lambda's own.
      const [, like = '$^'] = /@message like \/(.+)\//.exec(query) ?? [];
      const failedInvocation = new RegExp(like);
      for (const line of [
        '2026-11-30T22:59:54.123Z\t3f1c9a2e\tERROR\tInvoke Error \t{"errorType":"TypeError","errorMessage":"x"}',
        '2026-11-30T22:59:54.123Z\tundefined\tERROR\tUncaught Exception \t{"errorType":"Runtime.ImportModuleError"}',
        '2026-11-30T22:59:54.123Z\t3f1c9a2e\tERROR\tUnhandled Promise Rejection \t{"errorType":"Runtime.UnhandledPromiseRejection"}',
        '2026-11-30T22:59:54.123Z 3f1c9a2e Task timed out after 30.03 seconds',
        'RequestId: 3f1c9a2e Error: Runtime exited with error: signal: killed',
      ]) {
        expect(line, line).toMatch(failedInvocation);
      }
      expect(JSON.stringify({ level: 'INFO', message: 'request', status: 200 })).not.toMatch(failedInvocation);
      expect(query).toContain('@message');
    });
  });

  describe('outputs', () => {
    it('gives the URLs, secret ARNs, the Alertmanager snippet and the token command', () => {
      const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(Object.keys(outputs)).toEqual(
        expect.arrayContaining([
          'ApiUrl',
          'TokenSecretArn',
          'SlackSecretArn',
          'LlmSecretArn',
          'PagerDutySecretArn',
          'OpsgenieSecretArn',
          'WebhookSecretArn',
          'DeadLetterQueueUrl',
          'JobQueueUrl',
          'AlertmanagerConfig',
          'FetchTokenCommand',
          'SlackBotTokenSecretArn',
          'SlackSigningSecretArn',
          'SlackAppManifest',
        ]),
      );
      const text = (name: string) => describeResource(outputs[name]?.Value);
      expect(text('ApiUrl')).toBe('ApiHttpApi');
      expect(text('AlertmanagerConfig')).toBe(
        [
          'receivers:',
          '  - name: incident-pilot',
          '    webhook_configs:',
          '      - url: ApiHttpApi/alerts',
          '        send_resolved: true',
          '        http_config:',
          '          authorization:',
          '            type: Bearer',
          '            credentials_file: /etc/alertmanager/incident-pilot.token',
          '',
        ].join('\n'),
      );
      const manifest = text('SlackAppManifest');
      expect(manifest).toContain('    request_url: ApiHttpApi/slack/interactions\n');
      expect(manifest).toMatch(/scopes:\n {4}bot:\n {6}- chat:write\n/);
      expect(manifest).toContain('  bot_user:\n    display_name: incident-pilot');
      expect(manifest).toContain('    is_enabled: true');
      expect(text('FetchTokenCommand')).toBe(
        'aws secretsmanager get-secret-value --secret-id SecretsToken --query SecretString --output text ' +
          '> /etc/alertmanager/incident-pilot.token',
      );
    });

    it('never carry a secret value: only Refs (ARNs/names/URLs) and GetAtt of non-secret attributes', () => {
      const secretIds = ofType('AWS::SecretsManager::Secret').map(([id]) => id);
      const json = JSON.stringify(template.toJSON().Outputs);
      expect(json).not.toContain('resolve:secretsmanager');
      for (const id of secretIds) expect(json).not.toContain(`"Fn::GetAtt":["${id}"`);
    });
  });
});

describe('incident-pilot stack with a non-default configuration', () => {
  let other: Template;
  beforeAll(() => {
    const { stack } = buildTestApp(
      {
        stage: 'dev',
        removalPolicy: 'destroy',
        alarmEmail: 'oncall@example.com',
        workerMaxConcurrency: '7', // as `-c workerMaxConcurrency=7` passes it
        workerMemoryMb: '1024',
        engineConfig: '{"deploy":{"windowMinutes":45}}',
        llm: { provider: 'anthropic', model: 'claude-x', endpoint: '' },
        paging: {
          opsgenieUrl: 'https://api.eu.opsgenie.com',
          pagerdutyChangeEvents: true,
          webhookUrl: 'https://hooks.example.com/incident-pilot',
        },
        slackChannel: 'C0INCIDENTS',
        publicUrl: 'https://pilot.example.com',
        heartbeatMinutes: '10',
        heartbeatAlertname: 'DeadMansSwitch',
      },
      FAST,
    );
    expect(stack.stackName).toBe('IncidentPilot-dev');
    other = Template.fromStack(stack);
  }, SYNTH_TIMEOUT_MS);

  it('destroys the data on `cdk destroy` when removalPolicy is destroy', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::SecretsManager::Secret',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
    ]) {
      for (const [id, r] of Object.entries(other.findResources(type))) expect(r.DeletionPolicy, id).toBe('Delete');
    }
    other.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });

  it('subscribes the alarm e-mail, applies the concurrency and memory and passes engine and LLM settings', () => {
    other.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    other.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 7 } });
    other.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('correlation jobs'),
      MemorySize: 1024,
    });
    other.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          INCIDENT_PILOT_ENGINE_CONFIG: '{"deploy":{"windowMinutes":45}}',
          INCIDENT_PILOT_LLM_PROVIDER: 'anthropic',
          INCIDENT_PILOT_LLM_MODEL: 'claude-x',
        }),
      },
    });
    other.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'incident-pilot-dev-dlq-not-empty' });
  });

  it('wires the webhook and change events only when configured, each with just its secret', () => {
    const resourcesOf = other.toJSON().Resources as Record<string, Resource>;
    const fn = (name: string) => {
      const found = Object.entries(resourcesOf).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(`${name}Function`),
      );
      if (!found) throw new Error(`no ${name} function`);
      return found[1];
    };
    const vars = (name: string) =>
      (fn(name).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const secretGrants = (name: string) =>
      grantsOf(resourcesOf, (fn(name).Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '').filter(
        (g) => g.startsWith('secretsmanager:'),
      );

    expect(vars('Worker')).toMatchObject({
      INCIDENT_PILOT_OPSGENIE_URL: 'https://api.eu.opsgenie.com',
      INCIDENT_PILOT_WEBHOOK_URL: 'https://hooks.example.com/incident-pilot',
    });
    expect(secretGrants('Worker')).toContain('secretsmanager:GetSecretValue on SecretsWebhookSecret');
    expect(vars('Context')).toMatchObject({
      INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS: '1',
      INCIDENT_PILOT_PAGERDUTY_URL: 'https://events.pagerduty.com/v2/enqueue',
    });
    expect(secretGrants('Context')).toEqual([
      'secretsmanager:GetSecretValue on SecretsPagerDutyRoutingKey',
      'secretsmanager:GetSecretValue on SecretsToken',
    ]);
  });

  it('passes the Slack app channel and the public URL to the worker and the interactions function only', () => {
    const withSlack = Object.entries(other.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.Environment.Variables.INCIDENT_PILOT_SLACK_CHANNEL === 'C0INCIDENTS')
      .map(([id]) => id.replace(/Function[0-9A-F]{8}$/, ''))
      .sort();

    expect(withSlack).toEqual(['Interactions', 'Worker']);
    other.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ INCIDENT_PILOT_PUBLIC_URL: 'https://pilot.example.com' }) },
    });
  });

  it('runs the heartbeat check every minute from EventBridge Scheduler, with exactly the grants it needs', () => {
    const resources = other.toJSON().Resources as Record<string, Resource>;
    const found = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('HeartbeatFunction'),
    );
    if (!found) throw new Error('no heartbeat function');
    const [fnId, fn] = found;
    const role = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';

    other.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } },
    });
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      INCIDENT_PILOT_HEARTBEAT_MINUTES: '10',
      INCIDENT_PILOT_HEARTBEAT_ALERTNAME: 'DeadMansSwitch',
    });
    expect(grantsOf(resources, role)).toEqual(
      [
        'logs:CreateLogStream on HeartbeatLogs',
        'logs:PutLogEvents on HeartbeatLogs',
        ...['BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem', 'Query'].map((a) => `dynamodb:${a} on TablesData`),
        'sqs:SendMessage on QueueJobs',
      ].sort(),
    );
    // Every function knows the heartbeat's alertname: ingest must not turn it into an incident.
    other.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ INCIDENT_PILOT_HEARTBEAT_ALERTNAME: 'DeadMansSwitch' }) },
    });
  });

  it('alarms on deliveries POST /alerts keeps refusing (4xx), by the reasons Alertmanager sends again', () => {
    const [alarm] = Object.values(other.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.AlarmName === 'incident-pilot-dev-alerts-refused',
    );
    expect(alarm?.Properties).toMatchObject({ EvaluationPeriods: 2, Threshold: 0 });
    const metrics = (alarm?.Properties.Metrics ?? []) as {
      MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number };
    }[];
    const reasons = metrics.flatMap((m) =>
      m.MetricStat?.Metric.MetricName === 'AlertsRejected'
        ? m.MetricStat.Metric.Dimensions.filter((d) => d.Name === 'reason').map((d) => d.Value)
        : [],
    );
    expect(reasons.sort()).toEqual(['invalid_request', 'payload_too_large', 'unauthorized', 'unprocessable']);
    expect(metrics.filter((m) => m.MetricStat).every((m) => m.MetricStat?.Period === 300)).toBe(true);
  });

  it("looks for the heartbeat check's failures in its log group with the errors query", () => {
    const resources = other.toJSON().Resources as Record<string, Resource>;
    const [logsId] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Logs::LogGroup' && id.startsWith('HeartbeatLogs'),
    ) ?? [''];
    const errors = Object.values(resources).find(
      (r) => r.Type === 'AWS::Logs::QueryDefinition' && String(r.Properties.Name).endsWith('/errors'),
    );
    expect(errors?.Properties.LogGroupNames).toHaveLength(6);
    expect(errors?.Properties.LogGroupNames).toContainEqual({ Ref: logsId });
  });

  it("alarms when the heartbeat check fails: a broken dead man's switch pages no one otherwise", () => {
    const resources = other.toJSON().Resources as Record<string, Resource>;
    const [fnId] =
      Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('HeartbeatFunction'),
      ) ?? [];
    const [[topicId] = ['']] = Object.entries(other.findResources('AWS::SNS::Topic'));

    other.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'incident-pilot-dev-heartbeat-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Threshold: 0,
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
  });
});

describe("incident-pilot stack and Lambda's 4 KB limit on a function's environment", () => {
  /** Routes for `services` services, as a large organisation's engineConfig holds them. */
  const routes = (services: number) => {
    const names = Array.from({ length: services }, (_, i) => `service-${String(i).padStart(3, '0')}`);
    return {
      routing: { serviceTeams: Object.fromEntries(names.map((n, i) => [n, `team-${i % 12}`])) },
      slack: {
        channels: { byService: Object.fromEntries(names.map((n, i) => [n, `C0${String(i).padStart(8, '0')}`])) },
      },
    };
  };

  it('refuses at synth an engineConfig that would fail the deployment on the functions', () => {
    const { app } = buildTestApp({ engineConfig: routes(60), slackChannel: 'C0INCIDENTS' }, FAST);
    expect(() => app.synth()).toThrowError(
      /Worker.*over Lambda's limit of 4096; the largest is INCIDENT_PILOT_ENGINE_CONFIG/s,
    );
  });

  it("measures the environment as Lambda does: as JSON, every quote of engineConfig's escaped", () => {
    // 160 short routes: 1.9 KB as written, 2.6 KB escaped. With the worker's other variables that is over
    // 4 KB as Lambda measures it (the references at 60 bytes, an ARN's least), under it as names and values.
    const serviceTeams = Object.fromEntries(
      Array.from({ length: 160 }, (_, i) => [`s${String(i).padStart(3, '0')}`, `t${i % 10}`]),
    );
    const { app } = buildTestApp({ engineConfig: { routing: { serviceTeams } } }, FAST);
    expect(() => app.synth()).toThrowError(/Worker.*over Lambda's limit of 4096/s);
  });

  it('leaves room for a few dozen routes', () => {
    const { app } = buildTestApp({ engineConfig: routes(20), slackChannel: 'C0INCIDENTS' }, FAST);
    expect(() => app.synth()).not.toThrow();
  });
});
