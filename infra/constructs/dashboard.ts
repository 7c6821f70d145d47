import { Aws, Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { type Alarm, AlarmStatusWidget, Dashboard, GraphWidget, type IMetric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { appMetric, METRIC } from './app-metrics.js';

export interface PipelineDashboardProps {
  readonly stage: string;
  readonly api: HttpApi;
  readonly functions: Record<string, IFunction>;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly alarms: Alarm[];
  /** Sinks and rules to chart one by one (their metrics carry a `sink` / `rule` dimension). */
  readonly sinks: readonly string[];
  readonly rules: readonly string[];
}

/** One page for the whole pipeline, in the order a request travels: API → functions → queue. */
export class PipelineDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const fns = Object.entries(props.functions);
    const perFunction = (metric: (fn: IFunction, name: string) => IMetric) => fns.map(([name, fn]) => metric(fn, name));
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 8, height: 6 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboard names are global to the account, hence the region.
      dashboardName: `incident-pilot-${props.stage}-${Aws.REGION}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 3 }));
    this.dashboard.addWidgets(
      graph('API requests', [props.api.metricCount({ period, statistic: Stats.SUM, label: 'requests' })]),
      graph('API errors', [
        props.api.metricClientError({ period, statistic: Stats.SUM, label: '4xx' }),
        props.api.metricServerError({ period, statistic: Stats.SUM, label: '5xx' }),
      ]),
      graph('API latency', [
        props.api.metricLatency({ period, statistic: Stats.percentile(50), label: 'p50' }),
        props.api.metricLatency({ period, statistic: Stats.percentile(99), label: 'p99' }),
        props.api.metricIntegrationLatency({ period, statistic: Stats.percentile(99), label: 'integration p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Function invocations',
        perFunction((fn, label) => fn.metricInvocations({ period, statistic: Stats.SUM, label })),
      ),
      graph('Function errors and throttles', [
        ...perFunction((fn, name) => fn.metricErrors({ period, statistic: Stats.SUM, label: `${name} errors` })),
        ...perFunction((fn, name) => fn.metricThrottles({ period, statistic: Stats.SUM, label: `${name} throttles` })),
      ]),
      graph(
        'Function duration p99',
        perFunction((fn, label) => fn.metricDuration({ period, statistic: Stats.percentile(99), label })),
      ),
    );
    const sum = { period, statistic: Stats.SUM };
    this.dashboard.addWidgets(
      graph('Alerts', [
        appMetric(METRIC.alertsReceived, { ...sum, label: 'received' }),
        appMetric(METRIC.duplicatesDropped, { ...sum, label: 'duplicates' }),
        ...[
          'invalid_request',
          'unauthorized',
          'payload_too_large',
          'unprocessable',
          'internal_error',
          'unavailable',
        ].map((reason) =>
          appMetric(METRIC.alertsRejected, { ...sum, label: `rejected: ${reason}`, dimensions: { reason } }),
        ),
        appMetric(METRIC.heartbeats, { ...sum, label: 'heartbeats' }),
      ]),
      graph('Incidents', [
        appMetric(METRIC.incidentsOpened, { ...sum, label: 'opened' }),
        appMetric(METRIC.incidentsResolved, { ...sum, label: 'resolved' }),
      ]),
      graph(
        'Findings per rule',
        props.rules.map((rule) => appMetric(METRIC.findings, { ...sum, label: rule, dimensions: { rule } })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Notifications per sink',
        props.sinks.flatMap((sink) => [
          appMetric(METRIC.notificationsSent, { ...sum, label: `${sink} sent`, dimensions: { sink } }),
          appMetric(METRIC.notificationsFailed, { ...sum, label: `${sink} failed`, dimensions: { sink } }),
        ]),
      ),
      graph('Notification latency (alert start → sink accepted)', [
        appMetric(METRIC.notificationLatency, { period, statistic: Stats.percentile(50), label: 'p50' }),
        appMetric(METRIC.notificationLatency, { period, statistic: Stats.MAXIMUM, label: 'max' }),
      ]),
      graph('Job duration', [
        appMetric(METRIC.jobDuration, { period, statistic: Stats.percentile(50), label: 'p50' }),
        appMetric(METRIC.jobDuration, { period, statistic: Stats.percentile(99), label: 'p99' }),
        appMetric(METRIC.jobsFailed, { ...sum, label: 'jobs failed' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Queue depth',
        [props.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM, label: 'visible' })],
        [
          props.queue.metricApproximateNumberOfMessagesNotVisible({
            period,
            statistic: Stats.MAXIMUM,
            label: 'in flight',
          }),
        ],
      ),
      graph('Oldest job age (s)', [
        props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM, label: 'age' }),
      ]),
      graph('Dead-letter queue depth', [
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: Stats.MAXIMUM,
          label: 'DLQ visible',
        }),
      ]),
    );
  }
}
