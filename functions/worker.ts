/** The worker: SQS batches of correlation jobs → engine → persisted incident → sinks. */
import {
  type CorrelationJob,
  correlationJobSchema,
  MAX_JOB_DELAY_SECONDS,
  parseWith,
  processJob,
  rules,
  STAT_NAMES,
  type Stats,
  type StatsRepository,
  TransientError,
  ValidationError,
} from '@incident-pilot/core';
import middy from '@middy/core';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { getRoot, type Root } from './lib/composition.js';
import { deliveryOf } from './lib/delivery.js';
import { withKeys } from './lib/logger.js';
import { type DeliveryTally, METRIC, meteredSink } from './lib/metrics.js';

/** Groups processed at the same time within one batch (jobs of one group run one after another). */
const PARALLEL_GROUPS = 4;

/**
 * A job a sink asked to come back later (Slack's rate limit, a channel the pacing holds, another
 * worker's claim) is queued anew with that delay, this many times at most, instead of being received
 * again: a long storm on one channel must not use up the dead-letter queue's receives.
 */
export const MAX_DEFERRALS = 20;

/**
 * A group's job is started only while this much of the invocation is left. A job cut off by the
 * function's timeout fails the whole batch, finished jobs included, and uses up a receive of each; a
 * slow Slack or LLM day makes single jobs take seconds (their calls time out after 5-15 s).
 */
export const JOB_BUDGET_MS = 20_000;

type Counters = Pick<StatsRepository, 'addStats'>;

/**
 * The job counters of one invocation (notifications sent and failed, jobs failed), summed and written
 * once at its end: best effort, as they were per job. The incident counters are not among them: they
 * are a sink of their own, written before its marker says "sent".
 */
function invocationCounters(root: Root): Counters & { flush(): Promise<void> } {
  const sum: Partial<Stats> = {};
  return {
    async addStats(delta) {
      for (const name of STAT_NAMES) sum[name] = (sum[name] ?? 0) + (delta[name] ?? 0);
    },
    flush: () => root.store.addStats(sum).catch(() => undefined),
  };
}

/** One job (all records of one group): one log line and the job-duration metric, whatever the outcome. */
async function processGroup(root: Root, records: SQSRecord[], counters: Counters): Promise<SQSBatchItemFailure[]> {
  const first = records[0];
  if (!first) return [];
  const started = performance.now();
  const tally: DeliveryTally = { sent: 0, failed: 0 };
  let log = withKeys(root.log, { messageIds: records.map((r) => r.messageId) });
  let job: CorrelationJob | undefined;
  try {
    job = jobOf(first);
    log = withKeys(log, { groupId: job.groupId, correlation_id: job.groupId });
    const delivery = deliveryOf(root);
    const sinks = (await delivery.sinks()).map((sink) => meteredSink(sink, root.metrics, root.now, tally));
    // Jobs of the same group are interchangeable: one run folds everything pending for it.
    const outcome = await processJob(
      {
        store: root.store,
        queue: root.queue,
        pacing: root.pacing,
        sinks,
        rules,
        config: root.config,
        resolvePolicy: root.env.INCIDENT_PILOT_RESOLVE_POLICY,
        narrate: (i, request) => delivery.narrate(i, request),
        log,
        now: root.now,
        counters,
      },
      job,
    );
    log.info('job', {
      incidentId: outcome.incidentId,
      outcome: outcome.status ?? 'no_incident',
      findings: outcome.findings ?? 0,
      notifications: tally.sent,
      latencyMs: jobDuration(root, started),
    });
    return [];
  } catch (error) {
    const comeBackIn = error instanceof TransientError ? error.retryAfterSeconds : undefined;
    if (job && comeBackIn && (await deferred(root, job, comeBackIn))) {
      log.info('job deferred', {
        outcome: 'deferred',
        retryAfterSeconds: comeBackIn,
        deferrals: (job.deferrals ?? 0) + 1,
        notifications: tally.sent,
        error: error instanceof Error ? error.message : 'unknown',
        latencyMs: jobDuration(root, started),
      });
      return [];
    }
    log.warn('job failed; it will be retried', {
      outcome: 'retry',
      receiveCount: first.attributes.ApproximateReceiveCount,
      notifications: tally.sent,
      notificationsFailed: tally.failed,
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
      latencyMs: jobDuration(root, started),
    });
    await counters.addStats({ jobsFailed: records.length });
    // The sink's Retry-After when it gave one, else a short backoff that grows with each receive,
    // instead of the whole visibility timeout.
    const retryAfter =
      (error instanceof TransientError ? error.retryAfterSeconds : undefined) ??
      backoffSeconds(Number(first.attributes.ApproximateReceiveCount) || 1, root.env.INCIDENT_PILOT_RETRY_BASE_SECONDS);
    await Promise.all(records.map((r) => root.queue.retryLater(r.receiptHandle, retryAfter).catch(() => undefined)));
    return records.map((r) => ({ itemIdentifier: r.messageId }));
  }
}

/** The job a message holds. A body that is not JSON is said to be so, not quoted (JSON.parse's error quotes it). */
function jobOf(record: SQSRecord): CorrelationJob {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: '', message: 'the message is not JSON' }], 'job');
  }
  return parseWith(correlationJobSchema, body, 'job');
}

/** Queues the job again to be seen after `seconds`; false when it has been deferred enough or cannot be. */
async function deferred(root: Root, job: CorrelationJob, seconds: number): Promise<boolean> {
  const deferrals = (job.deferrals ?? 0) + 1;
  if (deferrals > MAX_DEFERRALS) return false;
  try {
    await root.queue.enqueue({ ...job, deferrals }, Math.min(seconds, MAX_JOB_DELAY_SECONDS));
    return true;
  } catch {
    return false;
  }
}

/** 5 s, 10 s, 20 s, … up to 2 min (for a base of 5 s): quick for a blip, gentle for an outage. */
export function backoffSeconds(receiveCount: number, baseSeconds = 5): number {
  return Math.min(120, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
}

function jobDuration(root: Root, started: number): number {
  const ms = Math.round(performance.now() - started);
  root.metrics.milliseconds(METRIC.jobDuration, ms);
  return ms;
}

function groupKeyOf(record: SQSRecord): string {
  try {
    return String(JSON.parse(record.body)?.groupId ?? record.messageId);
  } catch {
    return record.messageId;
  }
}

/**
 * Reports failed records individually (`ReportBatchItemFailures`): the rest of the batch is done. Groups
 * run in {@link PARALLEL_GROUPS} lanes; a group not started before the invocation's time runs short is
 * queued anew (jobs of a group are interchangeable), not failed.
 */
export async function workerRoute(
  event: SQSEvent,
  root: Root = getRoot(),
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<SQSBatchResponse> {
  const byGroup = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const key = groupKeyOf(record);
    byGroup.set(key, [...(byGroup.get(key) ?? []), record]);
  }
  const groups = [...byGroup.values()];
  const failures: SQSBatchItemFailure[] = [];
  const counters = invocationCounters(root);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < groups.length; i = next++) {
      const records = groups[i] as SQSRecord[];
      const outcome = remainingMs() >= JOB_BUDGET_MS ? processGroup(root, records, counters) : handBack(root, records);
      failures.push(...(await outcome));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_GROUPS }, lane));
  await counters.flush();
  root.metrics.flush();
  return { batchItemFailures: failures };
}

/** Queues a group's job anew, unstarted; the records fail as usual only if that cannot be done. */
async function handBack(root: Root, records: SQSRecord[]): Promise<SQSBatchItemFailure[]> {
  try {
    const job = jobOf(records[0] as SQSRecord);
    await root.queue.enqueue(job);
    root.log.info('job handed back', { groupId: job.groupId, outcome: 'handed_back', messages: records.length });
    return [];
  } catch {
    return records.map((r) => ({ itemIdentifier: r.messageId }));
  }
}

export const handler = middy((event: SQSEvent, context: Context) =>
  workerRoute(event, getRoot(), () => context.getRemainingTimeInMillis()),
);
