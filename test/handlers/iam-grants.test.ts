/**
 * Each function's IAM grants (infra/stack.ts) against the calls its code really makes. Every function
 * runs here with the environment the stack gives it (its template's variables, the references pointed
 * at the emulators), through its real routes and jobs, while the DynamoDB, SQS and Secrets Manager
 * clients record each call as `<service>:<action> on <resource>`, the form `grantsOf` gives the grants.
 * A call the role does not allow is an AccessDenied in AWS that no other local test would catch; a
 * grant no call uses is more than the function needs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { groupIdOf } from '@incident-pilot/core';
import { encodeValue } from '@incident-pilot/sinks/slack-app-message';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsRoute } from '../../functions/alerts.js';
import { contextRoute } from '../../functions/context.js';
import { heartbeatRoute } from '../../functions/heartbeat.js';
import { interactionsRoute } from '../../functions/interactions.js';
import { createRoot, type Root } from '../../functions/lib/composition.js';
import { parseEnv } from '../../functions/lib/env.js';
import { type HttpResult, httpHandler } from '../../functions/lib/http.js';
import { slackSignature } from '../../functions/lib/slack-signature.js';
import { queryRoute } from '../../functions/query.js';
import { workerRoute } from '../../functions/worker.js';
import { sqsEventOf, useEmulators } from '../helpers/emulators.js';
import { type SlackApiStandIn, startSlackApi } from '../helpers/slack-api.js';
import { buildTestApp, describeResource, grantsOf, SYNTH_TIMEOUT_MS } from '../infra/synth.js';

const FUNCTIONS = ['Alerts', 'Context', 'Query', 'Interactions', 'Worker', 'Heartbeat'] as const;
type FunctionName = (typeof FUNCTIONS)[number];
type Resource = { Type: string; Properties: Record<string, unknown> };

const TOKEN = 'tok-iam-7c1e';
const SIGNING_SECRET = 'signing-iam-5d2a';
const BOT_TOKEN = 'xoxb-iam';
/** What each secret holds (by the secret's logical id, which stands in for its ARN here). */
const SECRET_VALUES: Record<string, string> = {
  SecretsToken: TOKEN,
  SecretsSlackSigningSecret: SIGNING_SECRET,
  SecretsSlackBotToken: BOT_TOKEN,
  // The stack's placeholders: those sinks stay off.
  SecretsSlackWebhook: 'placeholder0random',
  SecretsPagerDutyRoutingKey: '{"placeholder":"replace","nonce":"x"}',
  SecretsOpsgenieApiKey: '{"placeholder":"replace","nonce":"x"}',
  SecretsLlmApiKey: 'placeholder0random',
};

/**
 * Grants this test has no path to drive, each with the path that uses it. Anything else a role allows
 * and no call used fails the test.
 */
const RETRIED_WAKE_CLAIM = 'a wake-up claim the SDK retried after a lost answer (refresh.ts claimWake)';
const NOT_DRIVEN: Partial<Record<FunctionName, Record<string, string>>> = {
  Alerts: { 'dynamodb:GetItem on TablesData': RETRIED_WAKE_CLAIM },
  Context: { 'dynamodb:GetItem on TablesData': RETRIED_WAKE_CLAIM },
  Heartbeat: {
    'dynamodb:Query on TablesData':
      'a retried recovery: its resolved alert is then a duplicate, and ingest looks for pending alerts',
  },
  Worker: {
    'secretsmanager:GetSecretValue on SecretsLlmApiKey': 'read only once an LLM provider is configured',
    // Its event source mapping's: Lambda polls with them; the code itself changes visibility on a failure.
    'sqs:ReceiveMessage on QueueJobs': 'the event source mapping',
    'sqs:DeleteMessage on QueueJobs': 'the event source mapping',
    'sqs:GetQueueAttributes on QueueJobs': 'the event source mapping',
    'sqs:GetQueueUrl on QueueJobs': 'the event source mapping',
    'sqs:ChangeMessageVisibility on QueueJobs': 'a failed job (and the event source mapping)',
  },
};

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager', name), 'utf8'));

/** Records each request a client sends, as `<service>:<action> on <resource>`. */
function recordCalls(
  client: DynamoDBClient | SQSClient,
  service: string,
  resourcesOf: (input: Record<string, unknown>) => string[],
  record: (call: string) => void,
) {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const action = String(context.commandName).replace(/Command$/, '');
      for (const resource of resourcesOf(args.input as Record<string, unknown>)) {
        record(`${service}:${action} on ${resource}`);
      }
      return next(args);
    },
    { step: 'initialize', name: `record-${service}-calls` },
  );
}

describe('IAM grants against the calls each function makes', () => {
  const emulators = useEmulators();
  const calls = Object.fromEntries(FUNCTIONS.map((name) => [name, new Set<string>()])) as Record<
    FunctionName,
    Set<string>
  >;
  let grants: Record<FunctionName, string[]>;
  let running: FunctionName | undefined;
  let slack: SlackApiStandIn;

  /** Runs `fn` as the named function: the calls made meanwhile are its calls. */
  async function as<T>(name: FunctionName, fn: () => Promise<T>): Promise<T> {
    running = name;
    try {
      return await fn();
    } finally {
      running = undefined;
    }
  }
  const record = (call: string) => {
    if (running) calls[running].add(call);
  };

  beforeAll(async () => {
    const e = emulators();
    slack = await startSlackApi({ token: BOT_TOKEN });
    // Every function deployed: the heartbeat check and Slack app mode are on.
    const { stack } = buildTestApp(
      { heartbeatMinutes: '10', slackChannel: 'C0INCIDENTS' },
      { bundling: false, nag: false, cfnValidation: false },
    );
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const fnOf = (name: FunctionName) => {
      const found = Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(`${name}Function`),
      );
      if (!found) throw new Error(`no ${name} function`);
      return found[1];
    };
    grants = Object.fromEntries(
      FUNCTIONS.map((name) => {
        const role = (fnOf(name).Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';
        return [name, grantsOf(resources, role).filter((g) => !/^(logs|xray):/.test(g))];
      }),
    ) as Record<FunctionName, string[]>;

    // The stack's names for the emulators' tables and queue, and back.
    const localValue: Record<string, string> = {
      TablesData: e.tableName,
      TablesIncidents: e.incidentsTableName,
      QueueJobs: e.queueUrl,
    };
    const stackName = (table: unknown) =>
      table === e.tableName ? 'TablesData' : table === e.incidentsTableName ? 'TablesIncidents' : String(table);
    recordCalls(
      e.dynamoClient,
      'dynamodb',
      (input) =>
        input.RequestItems
          ? Object.keys(input.RequestItems as object).map(stackName)
          : [`${stackName(input.TableName)}${input.IndexName ? `/index/${input.IndexName}` : ''}`],
      record,
    );
    recordCalls(
      e.sqsClient,
      'sqs',
      (input) => [input.QueueUrl === e.queueUrl ? 'QueueJobs' : String(input.QueueUrl)],
      record,
    );
    const secrets = {
      async send(command: { input: { SecretId: string } }) {
        record(`secretsmanager:GetSecretValue on ${command.input.SecretId}`);
        return { SecretString: SECRET_VALUES[command.input.SecretId] };
      },
    } as unknown as SecretsManagerClient;

    /** A root built from the function's template variables, as its cold start would. */
    const rootOf = (name: FunctionName, now?: () => number): Root => {
      const variables = (fnOf(name).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const env = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => {
          if (typeof value === 'string') return [key, value];
          const ref = describeResource(value);
          if (ref.includes('ApiHttpApi')) return [key, 'https://api.example.com'];
          return [key, localValue[ref] ?? ref];
        }),
      );
      return createRoot(
        parseEnv({
          ...env,
          INCIDENT_PILOT_SLACK_API_URL: slack.url,
          INCIDENT_PILOT_QUIET: '1',
          INCIDENT_PILOT_LOG_LEVEL: 'warn',
        }),
        {
          dynamo: e.dynamoClient,
          sqs: e.sqsClient,
          secrets,
          ...(now ? { now } : {}),
        },
      );
    };
    const roots = {
      Alerts: rootOf('Alerts'),
      Context: rootOf('Context'),
      Query: rootOf('Query'),
      Interactions: rootOf('Interactions'),
      Worker: rootOf('Worker'),
    };

    // --- the requests and jobs ------------------------------------------------------------------
    const request = async (
      name: 'Alerts' | 'Context' | 'Query' | 'Interactions',
      routeKey: string,
      options: { path: string; body?: string; params?: Record<string, string>; query?: Record<string, string> },
      headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
    ): Promise<HttpResult> => {
      const route = { Alerts: alertsRoute, Context: contextRoute, Query: queryRoute, Interactions: interactionsRoute }[
        name
      ];
      const handler = httpHandler(
        route,
        name === 'Interactions' ? { open: () => true, raw: true } : {},
        () => roots[name],
      );
      const event = {
        routeKey,
        rawPath: options.path,
        headers,
        body: options.body,
        isBase64Encoded: false,
        pathParameters: options.params,
        queryStringParameters: options.query,
        requestContext: { requestId: 'req-iam', http: { method: routeKey.split(' ')[0] } },
      } as unknown as APIGatewayProxyEventV2;
      return as(name, () => handler(event, undefined as never) as Promise<HttpResult>);
    };
    const postAlerts = async (body: unknown) =>
      expect(
        (await request('Alerts', 'POST /alerts', { path: '/alerts', body: JSON.stringify(body) })).statusCode,
      ).toBe(202);
    /** Runs the worker on the queued jobs until none is left (a job delayed by a second or two included). */
    const work = async () => {
      for (;;) {
        const { Messages = [] } = await e.sqsClient.send(
          new ReceiveMessageCommand({ QueueUrl: e.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
        );
        if (Messages.length === 0) return;
        const result = await as('Worker', () => workerRoute(sqsEventOf(Messages, e.queueArn), roots.Worker));
        expect(result.batchItemFailures).toEqual([]);
      }
    };
    const interact = async (payload: object) => {
      const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await request(
        'Interactions',
        'POST /slack/interactions',
        { path: '/slack/interactions', body },
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
        },
      );
      expect(res.statusCode).toBe(200);
    };
    const user = { id: 'U0ALICE', username: 'alice', name: 'alice' };
    const press = (action_id: string, value: string) => ({
      type: 'block_actions',
      user,
      trigger_id: '1.2.3',
      actions: [{ action_id, value }],
    });

    // Ingest, then the worker opens the incident (Slack app message, service link, rule firings).
    await postAlerts(fixture('firing-group-3-alerts.json'));
    await postAlerts({ labels: { alertname: 'Watchdog' }, startsAt: new Date().toISOString() });
    await work();
    // A re-send (a refresh of the group), context for a service with an open group (a wake-up).
    await postAlerts(fixture('firing-group-3-alerts.json'));
    await roots.Context.store.linkService('payments', 'c0ffee', 'inc-c0ffee');
    const deploy = { service: 'payments', commit: 'abc1234', when: new Date(Date.now() - 60_000).toISOString() };
    const context = await request('Context', 'POST /context/{kind}', {
      path: '/context/deploys',
      params: { kind: 'deploys' },
      body: JSON.stringify(deploy),
    });
    expect(context.statusCode).toBe(202);
    await work();

    // Slack: acknowledge, mute, unmute, a vote, the resolve dialog, then the resolution.
    const groupKey = fixture('firing-group-3-alerts.json').groupKey;
    const state = await roots.Worker.store.getGroupState(groupIdOf(groupKey));
    const incident = await roots.Worker.store.getIncident(state?.lastIncidentId ?? '');
    if (!incident?.slack) throw new Error('the worker did not open the incident with its Slack message');
    const value = encodeValue({ incidentId: incident.id });
    await interact(press('incident_ack', value));
    await interact(press('incident_mute_1h', value));
    await interact(press('incident_unmute', value));
    const ruleId = incident.findings[0]?.ruleId ?? 'deploy.recent_correlated';
    await interact(press('finding_up_1', JSON.stringify({ incidentId: incident.id, ruleId })));
    await interact(press('incident_resolve', value));
    await interact({
      type: 'view_submission',
      user,
      view: { callback_id: 'incident_resolve', private_metadata: value, state: { values: {} } },
    });
    await work();
    // The group's resolved alerts, twice: the second delivery has nothing new and nothing firing.
    await postAlerts(fixture('resolved-group-3-alerts.json'));
    await postAlerts(fixture('resolved-group-3-alerts.json'));
    await work();

    // Another incident, whose first post Slack rate-limits: the worker queues its job anew.
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    await postAlerts(fixture('firing-single-alert.json'));
    await work();
    expect(slack.posts()).toHaveLength(2);

    // The query API, every route and list index, and a manual resolve of that incident.
    const other = await roots.Worker.store.getGroupState(groupIdOf(fixture('firing-single-alert.json').groupKey));
    const get = async (
      routeKey: string,
      path: string,
      extra: { params?: Record<string, string>; query?: Record<string, string> } = {},
    ) => {
      const res = await request('Query', routeKey, { path, ...extra });
      expect(res.statusCode, `${routeKey} ${JSON.stringify(extra)}`).toBe(200);
    };
    await get('GET /healthz', '/healthz');
    await get('GET /openapi.json', '/openapi.json');
    await get('GET /api/stats', '/api/stats');
    await get('GET /api/rules', '/api/rules');
    const lists: Record<string, string>[] = [
      {},
      { status: 'open' },
      { status: 'resolved' },
      { service: 'api', view: 'full' },
    ];
    for (const query of lists) {
      await get('GET /api/incidents', '/api/incidents', { query });
    }
    await get('GET /api/incidents/{id}', `/api/incidents/${incident.id}`, { params: { id: incident.id } });
    const otherId = other?.lastIncidentId ?? '';
    const resolved = await request('Query', 'POST /api/incidents/{id}/resolve', {
      path: `/api/incidents/${otherId}/resolve`,
      params: { id: otherId },
    });
    expect(resolved.statusCode).toBe(200);
    await work();

    // The dead man's switch (the Watchdog above was its heartbeat): fine, heartbeat missing (the
    // incident), heartbeat back (resolved).
    let clock = Date.now();
    const heartbeat = rootOf('Heartbeat', () => clock);
    expect(await as('Heartbeat', () => heartbeatRoute(heartbeat))).toEqual({ check: 'ok' });
    clock += 11 * 60_000;
    expect(await as('Heartbeat', () => heartbeatRoute(heartbeat))).toEqual({ check: 'opened' });
    await roots.Alerts.heartbeats.recordHeartbeat(new Date(clock).toISOString());
    clock += 60_000;
    expect(await as('Heartbeat', () => heartbeatRoute(heartbeat))).toEqual({ check: 'recovered' });
  }, SYNTH_TIMEOUT_MS);

  afterAll(async () => {
    await slack?.close();
  });

  it.each(FUNCTIONS)('%s: every call it makes is allowed to its role', (name) => {
    expect([...calls[name]].filter((call) => !grants[name].includes(call)).sort()).toEqual([]);
  });

  it.each(FUNCTIONS)('%s: every grant is used by a call (or by a path listed as not driven here)', (name) => {
    const notDriven = Object.keys(NOT_DRIVEN[name] ?? {});
    expect(grants[name].filter((g) => !calls[name].has(g) && !notDriven.includes(g)).sort()).toEqual([]);
  });
});
