import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from '../../functions/lib/metrics.js';

/**
 * One of the functions' own metrics (EMF, namespace `IncidentPilot`), with the dimensions they emit
 * it with: always `service`, plus `sink`, `rule` or `reason` where given.
 */
export function appMetric(name: MetricName, options: MetricOptions & { dimensions?: Record<string, string> } = {}) {
  const { dimensions, ...rest } = options;
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
    period: Duration.minutes(1),
    ...rest,
  });
}

export { METRIC };
