import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { Fnv64 } from '../hash.js';
import { formatPath, toFieldIssues } from '../validation.js';
import { isZeroTime, timestamp } from './time.js';

// Bounds that keep every stored item far below DynamoDB's 400 KB item and 2 KB key limits. They are
// generous for real alerts: Prometheus label values are short, annotations are a few sentences.
const MAX_LABEL_VALUE = 1024;
const MAX_ANNOTATION_VALUE = 16 * 1024;
const MAX_PAIRS = 64;

const pairs = (maxValue: number) =>
  z
    .record(z.string().min(1).max(256), z.string().max(maxValue, `longer than ${maxValue} characters`))
    .refine((m) => Object.keys(m).length <= MAX_PAIRS, { message: `more than ${MAX_PAIRS} entries` });
const labelSet = pairs(MAX_LABEL_VALUE);
const annotationSet = pairs(MAX_ANNOTATION_VALUE);

export const alertStatus = z.enum(['firing', 'resolved']);
export type AlertStatus = z.infer<typeof alertStatus>;

/** One alert inside an Alertmanager webhook (version 4). */
export const webhookAlertSchema = z.object({
  status: alertStatus,
  labels: labelSet.refine((l) => Boolean(l.alertname), { message: 'labels.alertname is required' }),
  annotations: annotationSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().regex(/^[0-9a-f]{1,16}$/i, 'expected up to 16 hex digits'),
});

/** The Alertmanager webhook body, version 4. */
export const webhookSchema = z.object({
  version: z.literal('4', { message: 'expected "4"' }).optional(),
  receiver: z.string().default(''),
  groupKey: z.string().min(1, 'groupKey must not be empty'),
  status: alertStatus,
  truncatedAlerts: z.number().int().nonnegative().max(1_000_000_000).default(0),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: annotationSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(webhookAlertSchema).min(1, 'at least one alert is required'),
});
export type Webhook = z.infer<typeof webhookSchema>;

/**
 * A bare alert, as a script or another monitoring tool might post it: only `labels.alertname` is
 * required. A missing `startsAt` means "received now"; a missing fingerprint is computed the way
 * Alertmanager computes it, so the same label set always maps to the same alert.
 */
export const bareAlertSchema = z.object({
  status: alertStatus.optional(),
  labels: labelSet.refine((l) => Boolean(l.alertname), { message: 'labels.alertname is required' }),
  annotations: annotationSet.default({}),
  startsAt: timestamp.optional(),
  endsAt: timestamp.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z
    .string()
    .regex(/^[0-9a-f]{1,16}$/i, 'expected up to 16 hex digits')
    .optional(),
});
export type BareAlert = z.infer<typeof bareAlertSchema>;

/** An alert as the rest of the system sees it, whatever shape it arrived in. */
export interface AlertInstance {
  fingerprint: string;
  status: AlertStatus;
  /** Exactly as received: part of the idempotency key. */
  startsAt: string;
  /** `null` while firing (Alertmanager sends Go's zero time). */
  endsAt: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL: string;
  service: string;
  alertname: string;
}

/** One notification's worth of alerts: the unit of correlation and of "one open incident". */
export interface AlertGroup {
  groupKey: string;
  status: AlertStatus;
  receiver: string;
  externalURL: string;
  truncatedAlerts: number;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: AlertInstance[];
}

/**
 * Label names that name the service, in order of preference. `service` is the convention; the
 * others are what Kubernetes and Prometheus scrape configs usually carry.
 */
export const SERVICE_LABELS = ['service', 'app', 'app_kubernetes_io_name', 'job', 'container'] as const;

export function serviceOf(labels: Record<string, string>): string {
  for (const name of SERVICE_LABELS) {
    const value = labels[name];
    if (value) return value;
  }
  return 'unknown';
}

// Alertmanager's fingerprint: 64-bit FNV-1a over the sorted label names and values, each followed
// by the byte 0xff (prometheus/common model.LabelSet.Fingerprint).
export function fingerprintOf(labels: Record<string, string>): string {
  const hash = new Fnv64();
  const separator = new Uint8Array([0xff]);
  for (const name of Object.keys(labels).sort()) {
    hash
      .addString(name)
      .add(separator)
      .addString(labels[name] ?? '')
      .add(separator);
  }
  return hash.hex();
}

function instance(
  alert: {
    status?: AlertStatus;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt?: string;
    endsAt?: string;
    generatorURL: string;
    fingerprint?: string;
  },
  receivedAt: string,
): AlertInstance {
  const endsAt = isZeroTime(alert.endsAt) ? null : (alert.endsAt as string);
  const status =
    alert.status ?? (endsAt !== null && Date.parse(endsAt) <= Date.parse(receivedAt) ? 'resolved' : 'firing');
  return {
    fingerprint: (alert.fingerprint ?? fingerprintOf(alert.labels)).toLowerCase(),
    status,
    startsAt: alert.startsAt ?? receivedAt,
    endsAt,
    labels: alert.labels,
    annotations: alert.annotations,
    generatorURL: alert.generatorURL,
    service: serviceOf(alert.labels),
    alertname: alert.labels.alertname ?? 'unknown',
  };
}

/** The group key of a bare alert: one open incident per service + alertname. */
export function bareGroupKey(service: string, alertname: string): string {
  return `bare:{alertname=${JSON.stringify(alertname)}, service=${JSON.stringify(service)}}`;
}

function fromBare(alert: BareAlert, receivedAt: string): AlertGroup {
  const one = instance(alert, receivedAt);
  return {
    groupKey: bareGroupKey(one.service, one.alertname),
    status: one.status,
    receiver: '',
    externalURL: '',
    truncatedAlerts: 0,
    groupLabels: { alertname: one.alertname, service: one.service },
    commonLabels: one.labels,
    commonAnnotations: one.annotations,
    alerts: [one],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses what `POST /alerts` accepts: an Alertmanager webhook body (recognised by `alerts` or
 * `groupKey`), a bare alert, or an array of bare alerts (one group each). Throws a ValidationError
 * naming every bad field.
 *
 * @param receivedAt the reference "now" for bare alerts without `startsAt`.
 */
export function parseAlertPayload(body: unknown, receivedAt: string): AlertGroup[] {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new ValidationError([{ path: '', message: 'expected at least one alert' }], 'alert');
    const issues = [];
    const groups: AlertGroup[] = [];
    for (const [index, item] of body.entries()) {
      const result = bareAlertSchema.safeParse(item);
      if (result.success) groups.push(fromBare(result.data, receivedAt));
      else
        issues.push(...result.error.issues.map((i) => ({ path: formatPath([index, ...i.path]), message: i.message })));
    }
    if (issues.length) throw new ValidationError(issues, 'alert');
    return groups;
  }
  if (!isRecord(body)) {
    throw new ValidationError(
      [{ path: '', message: 'expected an Alertmanager webhook body or an alert object' }],
      'alert',
    );
  }
  if ('alerts' in body || 'groupKey' in body) {
    const result = webhookSchema.safeParse(body);
    if (!result.success) throw new ValidationError(toFieldIssues(result.error), 'webhook');
    const hook = result.data;
    return [
      {
        groupKey: hook.groupKey,
        status: hook.status,
        receiver: hook.receiver,
        externalURL: hook.externalURL,
        truncatedAlerts: hook.truncatedAlerts,
        groupLabels: hook.groupLabels,
        commonLabels: hook.commonLabels,
        commonAnnotations: hook.commonAnnotations,
        alerts: hook.alerts.map((a) => instance(a, receivedAt)),
      },
    ];
  }
  const result = bareAlertSchema.safeParse(body);
  if (!result.success) throw new ValidationError(toFieldIssues(result.error), 'alert');
  return [fromBare(result.data, receivedAt)];
}

/** The service a group is about: its common or group labels first, then its first alert. */
export function groupService(group: AlertGroup): string {
  const common = serviceOf({ ...group.commonLabels, ...group.groupLabels });
  return common !== 'unknown' ? common : (group.alerts[0]?.service ?? 'unknown');
}

export function groupAlertname(group: AlertGroup): string {
  return group.groupLabels.alertname ?? group.commonLabels.alertname ?? group.alerts[0]?.alertname ?? 'unknown';
}
