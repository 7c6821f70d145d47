/** The plan of an Alertmanager-style alert storm (see storm.ts): every notification of every group. */
import { randomBytes } from 'node:crypto';
import { fingerprintOf } from '@incident-pilot/core';

/** Fractions of a group's alerts listed by its successive growth notifications. */
const GROWTH = [0.1, 0.35, 0.7, 1] as const;
/** Chance that the HA peer delivers the same notification too (in the same round). */
const HA_DUPLICATE_RATE = 0.5;
/** Chance that a notification is re-sent one round later (the first attempt timed out for the sender). */
const RETRY_RATE = 0.15;
const ALERTNAMES = ['HighErrorRate', 'HighLatency', 'PodCrashLooping', 'DiskAlmostFull', 'QueueBacklog'];
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export type DeliveryKind = 'growth' | 'ha-duplicate' | 'retry' | 'repeat';

export interface Delivery {
  group: number;
  kind: DeliveryKind;
  /** Alerts listed in this notification. */
  alerts: number;
  /** The webhook body, serialised once so a duplicate is byte-identical. */
  body: string;
}

export interface StormPlan {
  /** Part of every service name, so runs against the same server never share a group. */
  runId: string;
  /** Epoch ms the alerts' `startsAt` count back from; nothing of this storm is older. */
  now: number;
  /** Distinct alerts (fingerprint + startsAt), all firing. */
  alerts: number;
  groups: number;
  /** The group keys, by group index. */
  groupKeys: string[];
  /** Alerts per group, by group index. */
  perGroup: number[];
  /** One array per group_interval tick. */
  rounds: Delivery[][];
}

/** A small seeded PRNG (mulberry32): the same seed gives the same storm (or fault schedule). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

interface StormAlert {
  status: 'firing';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

function intersect(maps: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)));
}

/** The webhook (version 4) Alertmanager sends for these alerts of one group. */
function webhook(groupKey: string, groupLabels: Record<string, string>, alerts: StormAlert[]): string {
  return JSON.stringify({
    receiver: 'incident-pilot',
    status: 'firing',
    alerts,
    groupLabels,
    commonLabels: intersect(alerts.map((a) => a.labels)),
    commonAnnotations: intersect(alerts.map((a) => a.annotations)),
    externalURL: 'http://alertmanager.storm:9093',
    version: '4',
    groupKey,
    truncatedAlerts: 0,
  });
}

/**
 * Builds the whole storm up front, so sending measures the service rather than JSON building. The
 * seed fixes the shape (duplicates, re-sends, order, start times); the run id is fresh unless given.
 */
export function planStorm(options: {
  alerts: number;
  groups: number;
  seed?: number;
  runId?: string;
  now?: number;
}): StormPlan {
  const { alerts, groups } = options;
  if (!(Number.isInteger(groups) && groups >= 1 && Number.isInteger(alerts) && alerts >= groups)) {
    throw new Error(`need whole numbers with alerts ≥ groups ≥ 1, got ${alerts} alerts in ${groups} groups`);
  }
  const random = prng(options.seed ?? 1);
  const runId = options.runId ?? randomBytes(3).toString('hex');
  const now = options.now ?? Date.now();
  const perGroup = Array.from(
    { length: groups },
    (_, g) => Math.floor(alerts / groups) + (g < alerts % groups ? 1 : 0),
  );
  const groupKeys: string[] = [];
  const rounds: Delivery[][] = Array.from({ length: GROWTH.length + 1 }, () => []);

  for (const [g, size] of perGroup.entries()) {
    const alertname = ALERTNAMES[g % ALERTNAMES.length] as string;
    const service = `storm-${runId}-${String(g).padStart(3, '0')}`;
    const groupLabels = { alertname, service };
    const groupKey = `{}:{alertname="${alertname}", service="${service}"}`;
    groupKeys.push(groupKey);
    const width = String(size).length;
    const all: StormAlert[] = Array.from({ length: size }, (_, i) => {
      const instance = `instance-${String(i + 1).padStart(width, '0')}`;
      const labels = {
        alertname,
        service,
        severity: g % 3 === 0 ? 'critical' : 'warning',
        team: `team-${g % 7}`,
        instance,
      };
      return {
        status: 'firing',
        labels,
        annotations: {
          summary: `${alertname} on ${service} (${instance})`,
          description: `${alertname} has been firing on ${instance} of ${service} for 5 minutes.`,
          runbook_url: `https://runbooks.example.com/${alertname}`,
        },
        // Alerts of a storm start within the last ten minutes, each at its own instant.
        startsAt: new Date(now - Math.floor(random() * 600_000)).toISOString(),
        endsAt: GO_ZERO_TIME,
        generatorURL: `http://prometheus.storm:9090/graph?g0.expr=${encodeURIComponent(alertname)}`,
        fingerprint: fingerprintOf(labels),
      };
    });
    // Alertmanager orders a notification's alerts by their labels (here: by instance).
    let last = '';
    for (const [round, share] of GROWTH.entries()) {
      const listed = all.slice(0, Math.max(1, Math.ceil(size * share)));
      const body = webhook(groupKey, groupLabels, listed);
      if (body === last) continue; // a group too small to grow at this tick
      last = body;
      const delivery = (kind: DeliveryKind): Delivery => ({ group: g, kind, alerts: listed.length, body });
      rounds[round]?.push(delivery('growth'));
      if (random() < HA_DUPLICATE_RATE) rounds[round]?.push(delivery('ha-duplicate'));
      if (random() < RETRY_RATE) rounds[round + 1]?.push(delivery('retry'));
    }
    rounds[GROWTH.length]?.push({ group: g, kind: 'repeat', alerts: size, body: last });
  }
  for (const round of rounds) shuffle(round, random);
  return { runId, now, alerts, groups, groupKeys, perGroup, rounds };
}
