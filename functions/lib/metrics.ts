/**
 * Metrics as CloudWatch embedded metric format (EMF) lines through Powertools Metrics: CloudWatch turns
 * log lines into metrics, so counting costs no API call and no latency. Namespace `IncidentPilot`,
 * dimension `service` = `incident-pilot` on every metric; per-sink and per-rule metrics add one more.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { type Sink, STAT_NAMES, type Store } from '@incident-pilot/core';

export const METRICS_NAMESPACE = 'IncidentPilot';
export const METRICS_SERVICE = 'incident-pilot';

/** Every metric the functions emit (the dashboard and alarms in infra/ name them from here). */
export const METRIC = {
  alertsReceived: 'AlertsReceived',
  duplicatesDropped: 'AlertsDuplicate',
  alertsRejected: 'AlertsRejected',
  heartbeats: 'HeartbeatsReceived',
  incidentsOpened: 'IncidentsOpened',
  incidentsResolved: 'IncidentsResolved',
  jobsFailed: 'JobsFailed',
  notificationsSent: 'NotificationsSent',
  notificationsFailed: 'NotificationsFailed',
  notificationLatency: 'NotificationLatency',
  jobDuration: 'JobDuration',
  findings: 'Findings',
  narrationRejected: 'NarrationRejected',
  narrationFailed: 'NarrationFailed',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface AppMetrics {
  count(name: MetricName, value?: number, dimensions?: Record<string, string>): void;
  milliseconds(name: MetricName, value: number, dimensions?: Record<string, string>): void;
  /** Writes what was recorded since the last flush (one EMF line); called at the end of each invocation. */
  flush(): void;
}

/**
 * Metrics without extra dimensions are buffered and flushed once per invocation; a metric with
 * dimensions (sink, rule, reason) is written at once as its own EMF line, so concurrent invocations
 * in the local stack never mix dimensions.
 */
export function createMetrics(): AppMetrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
  const add = (
    name: MetricName,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    dimensions?: Record<string, string>,
  ) => {
    if (!Number.isFinite(value)) return;
    if (!dimensions) {
      metrics.addMetric(name, unit, value);
      return;
    }
    const single = metrics.singleMetric();
    for (const [key, dim] of Object.entries(dimensions)) single.addDimension(key, dim);
    single.addMetric(name, unit, value);
  };
  return {
    count: (name, value = 1, dimensions) => add(name, MetricUnit.Count, value, dimensions),
    milliseconds: (name, value, dimensions) => add(name, MetricUnit.Milliseconds, Math.max(0, value), dimensions),
    flush() {
      // Powertools warns on an empty flush; an invocation that counted nothing has nothing to say.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}

/**
 * The store, with every counter increment (`addStats`) also emitted as a metric and every finding of a
 * newly opened incident counted per rule. Decorating the port keeps the core free of metrics calls.
 * The metrics do not wait for the counters' write: a failed one must not hide failed notifications
 * from their alarm.
 */
export function withMetrics(store: Store, metrics: AppMetrics): Store {
  return {
    ...store,
    async addStats(delta) {
      for (const name of STAT_NAMES) {
        const value = delta[name];
        if (value) metrics.count(METRIC[name], value);
      }
      await store.addStats(delta);
    },
    async createIncident(incident) {
      const created = await store.createIncident(incident);
      if (created) for (const f of incident.findings) metrics.count(METRIC.findings, 1, { rule: f.ruleId });
      return created;
    },
  };
}

/** What one job's sinks did; the worker logs it on the job's line. */
export interface DeliveryTally {
  sent: number;
  failed: number;
}

/**
 * A sink that counts its deliveries per sink and measures the notification latency of `opened`
 * events: from the incident's earliest alert `startsAt` to the moment the sink accepted it.
 */
export function meteredSink(sink: Sink, metrics: AppMetrics, now: () => number, tally: DeliveryTally): Sink {
  const dims = { sink: sink.name };
  return {
    name: sink.name,
    async deliver(event) {
      try {
        await sink.deliver(event);
      } catch (error) {
        tally.failed += 1;
        metrics.count(METRIC.notificationsFailed, 1, dims);
        throw error;
      }
      tally.sent += 1;
      metrics.count(METRIC.notificationsSent, 1, dims);
      if (event.type === 'opened') {
        const starts = event.incident.alerts.map((a) => Date.parse(a.startsAt)).filter(Number.isFinite);
        const from = starts.length > 0 ? Math.min(...starts) : Date.parse(event.incident.openedAt);
        const latency = now() - from;
        metrics.milliseconds(METRIC.notificationLatency, latency);
        metrics.milliseconds(METRIC.notificationLatency, latency, dims);
      }
    },
  };
}
