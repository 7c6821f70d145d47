import { Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { appMetric, METRIC } from './app-metrics.js';

export interface PipelineAlarmsProps {
  readonly stage: string;
  /** Empty: no subscription. */
  readonly email: string;
  readonly api: HttpApi;
  readonly httpFunctions: Record<string, IFunction>;
  readonly worker: IFunction;
  /** The dead man's switch's scheduled check, when deployed (`heartbeatMinutes` > 0). */
  readonly heartbeat?: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly queueAgeThreshold: Duration;
  /** Alarm when an incident's first notification came later than this after its alert started. */
  readonly notificationLatencyThreshold: Duration;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The alarms that say "incidents are not being processed", all notifying one encrypted SNS topic
 * (on alarm and on recovery).
 */
export class PipelineAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);

    // A customer-managed key, not alias/aws/sns: CloudWatch alarms cannot publish to a topic encrypted
    // with the AWS-managed key, because its key policy cannot grant cloudwatch.amazonaws.com.
    const key = new Key(this, 'TopicKey', {
      description: 'incident-pilot alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        // In a key policy `*` means this key. No source condition here (as in the AWS example): who may
        // publish is restricted by the topic policy below.
        resources: ['*'],
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: `incident-pilot ${props.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));

    const minute = Duration.minutes(1);
    const alarm = (name: string, description: string, metric: IMetric, threshold = 0, evaluationPeriods = 1) => {
      const created = new Alarm(this, name, {
        alarmName: `incident-pilot-${props.stage}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data means no traffic, which is not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      created.addOkAction(new SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };

    alarm(
      'dlq-not-empty',
      'Jobs reached the dead-letter queue after 5 failed attempts: alerts were not turned into incidents. ' +
        'Fix the cause (worker logs), then redrive (scripts/redrive-dlq.ts).',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }),
    );
    alarm(
      'queue-age',
      `The oldest job has waited more than ${props.queueAgeThreshold.toSeconds()} s: the worker is failing, ` +
        'throttled or stuck, and incidents are late.',
      props.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum' }),
      props.queueAgeThreshold.toSeconds(),
      3,
    );
    alarm(
      'worker-errors',
      'The worker failed invocations (whole batches retried).',
      props.worker.metricErrors({ period: minute, statistic: 'Sum' }),
    );
    alarm(
      'worker-throttles',
      'The worker was throttled: the account concurrency is exhausted, jobs are delayed.',
      props.worker.metricThrottles({ period: minute, statistic: 'Sum' }),
    );
    if (props.heartbeat) {
      alarm(
        'heartbeat-errors',
        "The heartbeat check failed: until it runs again, nothing notices when Alertmanager's heartbeat stops " +
          '(check its logs).',
        props.heartbeat.metricErrors({ period: minute, statistic: 'Sum' }),
      );
    }
    for (const [name, fn] of Object.entries(props.httpFunctions)) {
      alarm(
        `${name}-errors`,
        `The ${name} function failed invocations (the caller got a 5xx from API Gateway).`,
        fn.metricErrors({ period: minute, statistic: 'Sum' }),
      );
    }
    alarm(
      'notifications-failed',
      'A sink refused or did not answer (Slack down, a bad webhook URL, throttling): the jobs retry, but the ' +
        'on-call may not have been told. Per-sink counts: metric NotificationsFailed by sink (dashboard).',
      appMetric(METRIC.notificationsFailed, { period: Duration.minutes(5), statistic: 'Sum' }),
    );
    alarm(
      'notification-latency',
      `An incident was announced more than ${props.notificationLatencyThreshold.toSeconds()} s after its alert ` +
        'started (Alertmanager group_wait included): queue backlog, sink retries or a slow worker.',
      appMetric(METRIC.notificationLatency, { period: Duration.minutes(5), statistic: 'Maximum' }),
      props.notificationLatencyThreshold.toMilliseconds(),
    );
    // Alertmanager does not give up on a 4xx: it sends the group again each group_interval, and each try
    // is refused again. Two periods in a row tell a lasting refusal from one stray request.
    const refusals = { unauthorized: 'u', invalid_request: 'i', unprocessable: 'q', payload_too_large: 'p' };
    alarm(
      'alerts-refused',
      'POST /alerts has refused deliveries (4xx) for 10 minutes: their alerts are not stored. A token that ' +
        'does not match (reason unauthorized: rotated secret or Alertmanager config) or a payload it cannot ' +
        'take; see the `request` log lines of POST /alerts with status 4xx.',
      new MathExpression({
        expression: Object.values(refusals)
          .map((id) => `FILL(${id}, 0)`)
          .join(' + '),
        usingMetrics: Object.fromEntries(
          Object.entries(refusals).map(([reason, id]) => [
            id,
            appMetric(METRIC.alertsRejected, { dimensions: { reason }, statistic: 'Sum', period: Duration.minutes(5) }),
          ]),
        ),
        label: 'POST /alerts refused (4xx)',
        period: Duration.minutes(5),
      }),
      0,
      2,
    );
    alarm(
      'api-5xx',
      'The API answered 5xx: Alertmanager retries, but alerts are delayed until this clears.',
      props.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
    );
  }
}
