import { fileURLToPath } from 'node:url';
import { rules } from '@incident-pilot/core';
import { CfnOutput, type CfnResource, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import type { StackConfig } from './config.js';
import { PipelineAlarms } from './constructs/alarms.js';
import { PipelineApi } from './constructs/api.js';
import { bindBedrockModel, bindQueue, bindSecret, bindTable } from './constructs/bind.js';
import { PipelineDashboard } from './constructs/dashboard.js';
import { LogQueries } from './constructs/log-queries.js';
import { PipelineFunction, type PipelineFunctionProps } from './constructs/pipeline-function.js';
import { JobQueue } from './constructs/queue.js';
import { PipelineSecrets } from './constructs/secrets.js';
import { PipelineTables } from './constructs/tables.js';

/** Where Alertmanager reads the bearer token from (`http_config.authorization.credentials_file`). */
export const TOKEN_FILE = '/etc/alertmanager/incident-pilot.token';

/** The worker's timeout; the queue's visibility timeout is derived from it. */
export const WORKER_TIMEOUT = Duration.seconds(30);
const WORKER_BATCHING_WINDOW = Duration.seconds(1);

const handlerPath = (name: string) => fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));

export interface IncidentPilotStackProps extends StackProps {
  readonly config: StackConfig;
}

/**
 * The whole deployment: HTTP API → ingest/query functions → DynamoDB + SQS → worker → Slack, with
 * alarms, a dashboard, and least-privilege roles (each function's grants are listed below, by call).
 */
export class IncidentPilotStack extends Stack {
  readonly functions: Record<'alerts' | 'context' | 'query' | 'interactions' | 'worker', PipelineFunction> & {
    heartbeat?: PipelineFunction;
  };

  constructor(scope: Construct, id: string, props: IncidentPilotStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = config.logRetentionDays as RetentionDays;

    const tables = new PipelineTables(this, 'Tables', { removalPolicy });
    const jobs = new JobQueue(this, 'Queue', {
      workerTimeout: WORKER_TIMEOUT,
      maxBatchingWindow: WORKER_BATCHING_WINDOW,
    });
    const secrets = new PipelineSecrets(this, 'Secrets', { removalPolicy });

    // Non-secret configuration every function parses (functions/lib/env.ts).
    const environment = {
      INCIDENT_PILOT_CONTEXT_TTL_HOURS: String(config.contextTtlHours),
      INCIDENT_PILOT_ALERT_TTL_DAYS: String(config.alertTtlDays),
      INCIDENT_PILOT_RESOLVE_POLICY: config.resolvePolicy,
      INCIDENT_PILOT_REFRESH_SECONDS: String(config.refreshSeconds),
      INCIDENT_PILOT_UPDATE_MIN_SECONDS: String(config.updateMinSeconds),
      INCIDENT_PILOT_ENGINE_CONFIG: JSON.stringify(config.engineConfig),
      INCIDENT_PILOT_LOG_LEVEL: config.logLevel,
      INCIDENT_PILOT_HEARTBEAT_ALERTNAME: config.heartbeatAlertname,
    };
    // Slack app mode: read by the worker (posts, edits) and the interactions function (re-renders).
    const slackEnvironment = {
      INCIDENT_PILOT_SLACK_CHANNEL: config.slackChannel,
      INCIDENT_PILOT_PUBLIC_URL: config.publicUrl,
    };
    // Only the worker narrates with the LLM (a manual resolve re-renders the templates).
    const { llm } = config;
    const llmEnvironment = {
      INCIDENT_PILOT_LLM_PROVIDER: llm.provider,
      INCIDENT_PILOT_LLM_MODEL: llm.model,
      INCIDENT_PILOT_LLM_ENDPOINT: llm.endpoint,
      INCIDENT_PILOT_LLM_BASE_URL: llm.baseUrl,
      INCIDENT_PILOT_LLM_REGION: llm.region,
      INCIDENT_PILOT_LLM_MIN_SEVERITY: llm.minSeverity,
      INCIDENT_PILOT_LLM_MAX_CALLS_PER_HOUR: String(llm.maxCallsPerHour),
      INCIDENT_PILOT_LLM_MAX_TOKENS: String(llm.maxTokens),
    };
    const fn = (id: string, description: string, extra: Partial<PipelineFunctionProps>) =>
      new PipelineFunction(this, id, {
        entry: handlerPath(id.toLowerCase()),
        description,
        logRetention,
        removalPolicy,
        tracing: config.tracing,
        environment,
        ...extra,
      });

    const alerts = fn('Alerts', 'incident-pilot: POST /alerts (Alertmanager webhook)', {});
    const context = fn('Context', 'incident-pilot: POST /context/{kind} (deploys, logs, traces)', {});
    const query = fn('Query', 'incident-pilot: query API, manual resolve, health check', {});
    const interactions = fn('Interactions', 'incident-pilot: POST /slack/interactions (Slack buttons, signed)', {
      environment: { ...environment, ...slackEnvironment },
    });
    const worker = fn('Worker', 'incident-pilot: correlation jobs → rule engine → incident → sinks', {
      environment: { ...environment, ...llmEnvironment, ...slackEnvironment },
      memorySize: config.workerMemoryMb,
      timeout: WORKER_TIMEOUT,
    });
    this.functions = { alerts, context, query, interactions, worker };

    // Grants, per function, exactly as packages/aws/src/dynamo-store.ts and sqs-queue.ts call them.
    // alerts: recordAlerts (BatchGet to find duplicates, Put of the pending entry, conditional Puts),
    // a re-send's check for pending alerts (Query) and refresh wake-up (a conditional Update; a Get when
    // a retried claim finds the marker taken, maybe by its own first attempt), stats and heartbeats
    // (Update), enqueue.
    bindTable(alerts.function, 'INCIDENT_PILOT_TABLE', tables.data, {
      actions: ['BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem', 'Query'],
    });
    bindTable(alerts.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, { actions: [] });
    bindQueue(alerts.function, jobs.queue, ['SendMessage']);
    bindSecret(alerts.function, 'INCIDENT_PILOT_TOKEN_SECRET_ARN', secrets.token);

    // context: putContext writes in batches of 25 (idempotent content-hash keys); the service's open
    // groups (Query) get a refresh wake-up (Update, and Get as for alerts) and a job.
    bindTable(context.function, 'INCIDENT_PILOT_TABLE', tables.data, {
      actions: ['BatchWriteItem', 'GetItem', 'Query', 'UpdateItem'],
    });
    bindTable(context.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, { actions: [] });
    bindQueue(context.function, jobs.queue, ['SendMessage']);
    bindSecret(context.function, 'INCIDENT_PILOT_TOKEN_SECRET_ARN', secrets.token);

    // query: stats (Get), rule scoreboard (Query of each rule's partition), list (Query on the index that
    // fits the filter, then BatchGet of the page's incidents), get; manual resolve = versioned Put and a
    // job so the worker announces it (and counts it: its stats sink).
    bindTable(query.function, 'INCIDENT_PILOT_TABLE', tables.data, { actions: ['GetItem', 'Query'] });
    bindTable(query.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, {
      actions: ['GetItem', 'BatchGetItem', 'PutItem'],
      queryIndexes: ['byOpenedAt', 'openByOpenedAt', 'byService'],
    });
    bindQueue(query.function, jobs.queue, ['SendMessage']);
    bindSecret(query.function, 'INCIDENT_PILOT_TOKEN_SECRET_ARN', secrets.token);

    // interactions: the Slack signing secret and bot token; acknowledge/mute/unmute patch the incident
    // (Get, Update), resolve is a versioned Put, votes are Puts, and a job tells the worker.
    bindTable(interactions.function, 'INCIDENT_PILOT_TABLE', tables.data, { actions: ['PutItem'] });
    bindTable(interactions.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, {
      actions: ['GetItem', 'PutItem', 'UpdateItem'],
    });
    bindQueue(interactions.function, jobs.queue, ['SendMessage']);
    bindSecret(interactions.function, 'INCIDENT_PILOT_SLACK_SIGNING_SECRET_ARN', secrets.slackSigningSecret);
    bindSecret(interactions.function, 'INCIDENT_PILOT_SLACK_BOT_SECRET_ARN', secrets.slackBotToken);

    // worker: group state, pending entries (Query, then BatchGet of their alert records, BatchWrite to
    // delete them once folded) and context (Query), notification markers (Put/Get/Update/Delete), stats,
    // overflow alerts and wake-ups (Update), service links (Put/Delete), rule firings (BatchWrite);
    // incidents are created and updated with versioned Puts, the Slack message ref recorded with an
    // Update; open ones via the index; delayed wake-up jobs.
    bindTable(worker.function, 'INCIDENT_PILOT_TABLE', tables.data, {
      actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchWriteItem'],
    });
    bindTable(worker.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, {
      actions: ['GetItem', 'PutItem', 'UpdateItem'],
      queryIndexes: ['openByOpenedAt'],
    });
    bindQueue(worker.function, jobs.queue, ['SendMessage']);
    bindSecret(worker.function, 'INCIDENT_PILOT_SLACK_SECRET_ARN', secrets.slackWebhook);
    if (llm.provider === 'bedrock') {
      // The role signs the calls: no key to read, and InvokeModel on exactly the configured model.
      bindBedrockModel(worker.function, { modelId: llm.model, region: llm.region, profileRegions: llm.profileRegions });
    } else {
      bindSecret(worker.function, 'INCIDENT_PILOT_LLM_SECRET_ARN', secrets.llmApiKey);
    }
    // Paging sinks: each off until its secret holds a key (the webhook: until it has a URL).
    bindSecret(worker.function, 'INCIDENT_PILOT_PAGERDUTY_SECRET_ARN', secrets.pagerDutyRoutingKey);
    bindSecret(worker.function, 'INCIDENT_PILOT_OPSGENIE_SECRET_ARN', secrets.opsgenieApiKey);
    worker.function.addEnvironment('INCIDENT_PILOT_PAGERDUTY_URL', config.paging.pagerdutyUrl);
    worker.function.addEnvironment('INCIDENT_PILOT_OPSGENIE_URL', config.paging.opsgenieUrl);
    if (config.paging.webhookUrl) {
      worker.function.addEnvironment('INCIDENT_PILOT_WEBHOOK_URL', config.paging.webhookUrl);
      bindSecret(worker.function, 'INCIDENT_PILOT_WEBHOOK_SECRET_ARN', secrets.webhookSecret);
    }
    // Change events are sent at ingest, so only then may the context function read the routing key.
    if (config.paging.pagerdutyChangeEvents) {
      context.function.addEnvironment('INCIDENT_PILOT_PAGERDUTY_CHANGE_EVENTS', '1');
      context.function.addEnvironment('INCIDENT_PILOT_PAGERDUTY_URL', config.paging.pagerdutyUrl);
      bindSecret(context.function, 'INCIDENT_PILOT_PAGERDUTY_SECRET_ARN', secrets.pagerDutyRoutingKey);
    }
    bindSecret(worker.function, 'INCIDENT_PILOT_SLACK_BOT_SECRET_ARN', secrets.slackBotToken);
    // Also grants the consumer actions (Receive, Delete, ChangeMessageVisibility, GetQueueAttributes/Url).
    worker.function.addEventSource(
      new SqsEventSource(jobs.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: config.workerMaxConcurrency,
        maxBatchingWindow: WORKER_BATCHING_WINDOW,
      }),
    );

    if (config.heartbeatMinutes > 0) this.functions.heartbeat = this.heartbeatCheck(fn, tables, jobs, config);

    const api = new PipelineApi(this, 'Api', {
      alerts: alerts.function,
      context: context.function,
      query: query.function,
      interactions: interactions.function,
      throttleRate: config.apiThrottleRate,
      throttleBurst: config.apiThrottleBurst,
      logRetention,
      removalPolicy,
    });

    // Pages link back to the incident in the API.
    worker.function.addEnvironment('INCIDENT_PILOT_API_URL', api.url);

    const alarms = new PipelineAlarms(this, 'Alarms', {
      stage: config.stage,
      email: config.alarmEmail,
      api: api.api,
      httpFunctions: {
        alerts: alerts.function,
        context: context.function,
        query: query.function,
        interactions: interactions.function,
      },
      worker: worker.function,
      heartbeat: this.functions.heartbeat?.function,
      queue: jobs.queue,
      deadLetterQueue: jobs.deadLetterQueue,
      queueAgeThreshold: Duration.seconds(config.queueAgeAlarmSeconds),
      notificationLatencyThreshold: Duration.seconds(config.notificationLatencyAlarmSeconds),
      removalPolicy,
    });
    new PipelineDashboard(this, 'Dashboard', {
      stage: config.stage,
      api: api.api,
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, f]) => [name, f.function])),
      queue: jobs.queue,
      deadLetterQueue: jobs.deadLetterQueue,
      alarms: alarms.alarms,
      sinks: ['stdout', 'slack', 'slack-app', 'pagerduty', 'opsgenie', 'webhook'],
      rules: rules.map((r) => r.id),
    });

    new LogQueries(this, 'LogQueries', {
      stage: config.stage,
      http: [alerts, context, query, interactions].map((f) => f.logGroup),
      worker: worker.logGroup,
      heartbeat: this.functions.heartbeat?.logGroup,
    });

    // Outputs carry names, ARNs and URLs only; secret values stay in Secrets Manager.
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ApiUrl', api.url, 'Base URL of the HTTP API');
    output('TokenSecretArn', secrets.token.secretArn, 'Secret holding the inbound bearer token');
    output('SlackSecretArn', secrets.slackWebhook.secretArn, 'Secret to fill with the Slack incoming-webhook URL');
    output('LlmSecretArn', secrets.llmApiKey.secretArn, 'Secret to fill with the LLM provider API key');
    output(
      'PagerDutySecretArn',
      secrets.pagerDutyRoutingKey.secretArn,
      'Secret to fill with the PagerDuty routing key',
    );
    output('OpsgenieSecretArn', secrets.opsgenieApiKey.secretArn, 'Secret to fill with the Opsgenie API key');
    output('WebhookSecretArn', secrets.webhookSecret.secretArn, 'Secret holding the signed webhook HMAC key');
    output('SlackBotTokenSecretArn', secrets.slackBotToken.secretArn, 'Secret to fill with the Slack app bot token');
    output(
      'SlackSigningSecretArn',
      secrets.slackSigningSecret.secretArn,
      'Secret to fill with the Slack app signing secret',
    );
    output(
      'SlackAppManifest',
      slackAppManifest(api.url),
      'Paste into api.slack.com/apps → Create New App → From a manifest, then install it and store its secrets',
    );
    output('DeadLetterQueueUrl', jobs.deadLetterQueue.queueUrl, 'Jobs that failed 5 times (redrive after fixing)');
    output('JobQueueUrl', jobs.queue.queueUrl, 'The jobs queue (the target of a DLQ redrive)');
    output('IncidentsTableName', tables.incidents.table.tableName, 'DynamoDB table with one item per incident');
    output('AlarmTopicArn', alarms.topic.topicArn, 'SNS topic the alarms notify');
    output(
      'AlertmanagerConfig',
      alertmanagerSnippet(api.url),
      'Paste into alertmanager.yml under receivers:, then route alerts to the incident-pilot receiver',
    );
    output(
      'FetchTokenCommand',
      `aws secretsmanager get-secret-value --secret-id ${secrets.token.secretArn} --query SecretString --output text > ${TOKEN_FILE}`,
      'Writes the bearer token to the file the Alertmanager snippet reads',
    );

    this.acknowledgeNagFindings(api, secrets);
  }

  /**
   * The dead man's switch: a function run every minute by EventBridge Scheduler (its own role may
   * invoke only this function). It ingests the synthetic "heartbeat missing" alert as ingest does:
   * alert records (BatchGet, Puts, Query), the heartbeat item (Get, Update), a job.
   */
  private heartbeatCheck(
    fn: (id: string, description: string, extra: Partial<PipelineFunctionProps>) => PipelineFunction,
    tables: PipelineTables,
    jobs: JobQueue,
    config: StackConfig,
  ): PipelineFunction {
    const heartbeat = fn('Heartbeat', "incident-pilot: dead man's switch for Alertmanager's heartbeat", {});
    heartbeat.function.addEnvironment('INCIDENT_PILOT_HEARTBEAT_MINUTES', String(config.heartbeatMinutes));
    bindTable(heartbeat.function, 'INCIDENT_PILOT_TABLE', tables.data, {
      actions: ['BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem', 'Query'],
    });
    bindTable(heartbeat.function, 'INCIDENT_PILOT_INCIDENTS_TABLE', tables.incidents, { actions: [] });
    bindQueue(heartbeat.function, jobs.queue, ['SendMessage']);
    // The scheduler's own role, which may invoke only this function (of this account's schedules).
    const role = new Role(this, 'HeartbeatScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    });
    new Schedule(this, 'HeartbeatSchedule', {
      description: 'incident-pilot: heartbeat check every minute',
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(heartbeat.function, { retryAttempts: 0, role }),
    });
    const functionId = this.resolve(this.getLogicalId(heartbeat.function.node.defaultChild as CfnResource));
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        "The scheduler target's grant covers the heartbeat function and its versions and aliases (`<function arn>:*`): " +
        'the one function it invokes, and nothing else.',
    });
    return heartbeat;
  }

  /**
   * cdk-nag AwsSolutions findings accepted by design: each acknowledged on the construct it concerns
   * (never stack-wide), with the reason.
   */
  private acknowledgeNagFindings(api: PipelineApi, secrets: PipelineSecrets) {
    // Covers every route ($default included), all children of the HttpApi construct.
    Validations.of(api.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Authorization is enforced in the handlers: a bearer token from Secrets Manager, compared in constant time, ' +
        'so the local stack and AWS authenticate identically. Alertmanager cannot sign IAM (SigV4) requests or ' +
        "fetch OAuth tokens. POST /slack/interactions is authenticated by Slack's v0 request signature (HMAC with " +
        'the signing secret, checked in constant time). Open without a token: GET /healthz (no data), ' +
        'GET /openapi.json (the public API description) and $default (a 404/405 naming the method and path).',
    });
    Validations.of(secrets.token).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Alertmanager reads the token from a file on its hosts; an automatic rotation would lock it out until ' +
        'every host is updated. Rotate deliberately: put-secret-value, refresh the file (functions cache 5 min).',
    });
    Validations.of(secrets.slackWebhook).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A Slack incoming-webhook URL is issued by Slack; Secrets Manager cannot rotate it.',
    });
    Validations.of(secrets.pagerDutyRoutingKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A PagerDuty routing key is issued by PagerDuty; Secrets Manager cannot rotate it.',
    });
    Validations.of(secrets.opsgenieApiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'An Opsgenie API key is issued by Opsgenie; Secrets Manager cannot rotate it.',
    });
    Validations.of(secrets.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The webhook receiver holds a copy of the HMAC key; an automatic rotation would make it reject every ' +
        'event until updated. Rotate deliberately: put-secret-value, then update the receiver (functions cache 5 min).',
    });
    for (const secret of [secrets.slackBotToken, secrets.slackSigningSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: "A Slack app's bot token and signing secret are issued by Slack; Secrets Manager cannot rotate them.",
      });
    }
    Validations.of(secrets.llmApiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: "An LLM provider's API key is issued by the provider; Secrets Manager cannot rotate it.",
    });
  }
}

/**
 * A Slack app manifest (YAML) for app mode: a bot user, the one scope it needs (`chat:write`) and the
 * interactivity request URL of this stack's API.
 */
export function slackAppManifest(apiUrl: string): string {
  return [
    'display_information:',
    '  name: incident-pilot',
    '  description: One message per incident, edited in place, with buttons to act',
    'features:',
    '  bot_user:',
    '    display_name: incident-pilot',
    '    always_online: true',
    'oauth_config:',
    '  scopes:',
    '    bot:',
    '      - chat:write',
    'settings:',
    '  interactivity:',
    '    is_enabled: true',
    `    request_url: ${apiUrl}/slack/interactions`,
    '  org_deploy_enabled: false',
    '  socket_mode_enabled: false',
    '  token_rotation_enabled: false',
    '',
  ].join('\n');
}

/** The receiver block for alertmanager.yml; the token is read from a file, never inlined. */
function alertmanagerSnippet(apiUrl: string): string {
  return [
    'receivers:',
    '  - name: incident-pilot',
    '    webhook_configs:',
    `      - url: ${apiUrl}/alerts`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials_file: ${TOKEN_FILE}`,
    '',
  ].join('\n');
}
