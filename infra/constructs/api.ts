import type { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_ROUTE_FN, ROUTES } from '../../functions/routes.js';

export interface PipelineApiProps {
  readonly alerts: IFunction;
  readonly context: IFunction;
  readonly query: IFunction;
  readonly interactions: IFunction;
  readonly throttleRate: number;
  readonly throttleBurst: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One access-log line per request as JSON, for Logs Insights. Deliberately no headers, query string
 * or authorizer fields: nothing that could carry the bearer token.
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/**
 * The public HTTP API (API Gateway v2), not a REST API: about a third of the price per request, lower
 * latency, and its Lambda payload v2 is exactly what the handlers and the local stack speak. There is
 * no API Gateway authorizer: the handlers check the bearer token themselves (constant-time compare
 * against the Secrets Manager value), so the local stack and AWS authenticate identically.
 */
export class PipelineApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineApiProps) {
    super(scope, id);

    // The default stage is created by hand: HttpApi's built-in one takes no access-log settings.
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'incident-pilot: Alertmanager webhook, context ingest, query API and Slack interactivity',
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate, burstLimit: props.throttleBurst },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogs), format: ACCESS_LOG_FORMAT },
    });

    // One route table for the stack and the local stack (functions/routes.ts).
    const integrations = {
      alerts: new HttpLambdaIntegration('Alerts', props.alerts),
      context: new HttpLambdaIntegration('Context', props.context),
      query: new HttpLambdaIntegration('Query', props.query),
      interactions: new HttpLambdaIntegration('Interactions', props.interactions),
    };
    for (const route of ROUTES) {
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.fn],
      });
    }
    // Everything else (unknown path, known path with another method) gets a 404 or 405 in the API's
    // own error shape, rather than API Gateway's {"message":"Not Found"}.
    new HttpRoute(this.api, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrations[DEFAULT_ROUTE_FN],
    });
  }

  /** `https://<id>.execute-api.<region>.amazonaws.com`, without a trailing slash. */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
