/**
 * The worker path with the real paging sinks: `processJob` on a real DynamoDB store (dynalite), the
 * PagerDuty, Opsgenie and webhook sinks posting to their stand-ins. Retried jobs and a sink that fails
 * once leave exactly one page per incident event; a crash between sending and recording the marker
 * re-sends, and the re-send is folded by the receiving end (dedup key, alias, event id).
 */
import { createDynamoStore } from '@incident-pilot/aws';
import {
  type CorrelationJob,
  defaultEngineConfig,
  fingerprintOf,
  ingestAlerts,
  type JobQueue,
  type Logger,
  narrate,
  parseAlertPayload,
  processJob,
  rules,
  type Sink,
  type Store,
  TransientError,
} from '@incident-pilot/core';
import { createOpsgenieSink, createPagerDutySink, createWebhookSink } from '@incident-pilot/sinks';
import { afterEach, describe, expect, it } from 'vitest';
import { freshTables, useEmulators } from '../helpers/emulators.js';
import { type OpsgenieStandIn, startOpsgenieStandIn } from '../helpers/opsgenie.js';
import { type PagerDutyStandIn, startPagerDutyStandIn } from '../helpers/pagerduty.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const emulators = useEmulators();
const silent: Logger = { info() {}, warn() {}, error() {} };

function notification(status: 'firing' | 'resolved') {
  const labels = { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical', team: 'payments' };
  return {
    version: '4',
    receiver: 'incident-pilot',
    status,
    groupKey: '{}:{alertname="CheckoutErrors"}',
    truncatedAlerts: 0,
    groupLabels: { alertname: 'CheckoutErrors' },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: [
      {
        status,
        labels,
        annotations: { summary: '5xx ratio above 5%' },
        startsAt: '2026-11-25T04:00:00Z',
        endsAt: status === 'resolved' ? '2026-11-25T04:30:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph',
        fingerprint: fingerprintOf(labels),
      },
    ],
  };
}

/**
 * While `crash.on`, every `completeNotification` fails: the events went out, but the worker "died"
 * before recording them.
 */
function crashingBeforeMarker(store: Store, crash: { on: boolean }): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'completeNotification' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (crash.on) throw new TransientError('injected: the worker died before recording the marker');
        return value.apply(target, args);
      };
    },
  });
}

describe('paging sinks on the worker path (processJob + dynalite + stand-ins)', () => {
  let pd: PagerDutyStandIn;
  let og: OpsgenieStandIn;
  let hook: WebhookReceiver;
  afterEach(async () => {
    await Promise.all([pd?.close(), og?.close(), hook?.close()]);
  });

  async function setup() {
    [pd, og, hook] = await Promise.all([startPagerDutyStandIn(), startOpsgenieStandIn(), startWebhookReceiver()]);
    const tables = await freshTables(emulators());
    const store = createDynamoStore({ ...tables, client: emulators().dynamoClient });
    const jobs: CorrelationJob[] = [];
    const queue: JobQueue = {
      async enqueue(job) {
        jobs.push(job);
      },
    };
    const sinks: Sink[] = [
      createPagerDutySink({ routingKey: pd.routingKey, url: pd.url, backoffMs: 5 }),
      createOpsgenieSink({ apiKey: og.apiKey, url: og.url, backoffMs: 5 }),
      createWebhookSink({ url: hook.url, secret: hook.secret, backoffMs: 5 }),
    ];
    const ingest = async (status: 'firing' | 'resolved', at: string) => {
      await ingestAlerts({ store, queue }, parseAlertPayload(notification(status), at), at);
    };
    /**
     * Runs the queued jobs the way SQS redelivers them: a failed job is received again (at most 5
     * times); `afterFailure` runs after each failed receive.
     */
    const drain = async (deps: { store: Store; notificationLeaseMs?: number }, afterFailure = () => {}) => {
      let failures = 0;
      for (let receives = 0; jobs.length > 0 && receives < 5; receives++) {
        const job = jobs[0] as CorrelationJob;
        try {
          await processJob(
            {
              store: deps.store,
              // Refresh jobs the worker may schedule are not under test here.
              queue: { async enqueue() {} },
              sinks,
              rules,
              config: defaultEngineConfig,
              resolvePolicy: 'all',
              narrate: (i) => narrate(i),
              log: silent,
              notificationLeaseMs: deps.notificationLeaseMs,
            },
            job,
          );
          jobs.shift();
          receives = -1;
        } catch {
          failures += 1;
          afterFailure();
        }
      }
      return failures;
    };
    return { store, ingest, drain };
  }

  it('pages once per event on each sink though a job is retried and one sink failed once', async () => {
    const { store, ingest, drain } = await setup();
    // PagerDuty is down for one whole delivery (all of its in-call attempts), then back.
    pd.fail({ status: 500 }, { status: 503 }, { status: 502 });

    await ingest('firing', '2026-11-25T04:01:00.000Z');
    const failedJobs = await drain({ store });
    await ingest('resolved', '2026-11-25T04:31:00.000Z');
    await drain({ store });

    expect(failedJobs).toBe(1);
    const [incident] = (await store.listIncidents({ limit: 10 })).items;
    expect(incident?.status).toBe('resolved');
    expect(pd.events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', incident?.id],
      ['resolve', incident?.id],
    ]);
    expect(pd.alerts()).toEqual([expect.objectContaining({ status: 'resolved', triggers: 1 })]);
    // The sinks that worked the first time were not called again by the retried job.
    expect(og.requests.map((r) => r.path)).toEqual(['/v2/alerts', `/v2/alerts/${incident?.id}/close`]);
    expect(og.alerts()).toEqual([expect.objectContaining({ alias: incident?.id, status: 'closed', count: 1 })]);
    expect(hook.requests).toHaveLength(2);
    expect(hook.events.map((e) => e.type)).toEqual(['opened', 'resolved']);
  });

  it('after a crash between sending and recording, re-sends, and each receiver folds the re-send', async () => {
    const { store, ingest, drain } = await setup();
    await ingest('firing', '2026-11-25T04:01:00.000Z');

    // The first receive sends to every sink and "dies" before any marker is written; the claims it left
    // behind are abandoned (lease 0), so the second receive sends again.
    const crash = { on: true };
    const failedJobs = await drain({ store: crashingBeforeMarker(store, crash), notificationLeaseMs: 0 }, () => {
      crash.on = false;
    });

    expect(failedJobs).toBe(1);
    expect(pd.events.filter((e) => e.event_action === 'trigger')).toHaveLength(2);
    expect(pd.alerts()).toEqual([expect.objectContaining({ status: 'triggered', triggers: 2 })]);
    expect(og.alerts()).toEqual([expect.objectContaining({ status: 'open', count: 2 })]);
    expect(hook.events).toHaveLength(1);
    expect(hook.redeliveries).toBe(1);
  });
});
