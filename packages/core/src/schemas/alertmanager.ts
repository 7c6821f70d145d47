import { type FieldIssue, ValidationError } from '../errors.js';
import { Fnv64 } from '../hash.js';
import { toFieldIssues } from '../validation.js';
import { MAX_SERVICE_LENGTH } from './context.js';
import { endTime, eventTime, futureTimeIssues, isZeroTime } from './time.js';
import * as z from './zod.js';

// Bounds that keep every stored item far below DynamoDB's 400 KB item and 2 KB key limits (an alert
// record holds its labels, annotations, generatorURL and group key). They are generous for real
// alerts: Prometheus label values are short, annotations are a few sentences.
export const MAX_LABEL_NAME = 256;
export const MAX_LABEL_VALUE = 1024;
export const MAX_ANNOTATION_VALUE = 16 * 1024;
export const MAX_PAIRS = 64;
/** `generatorURL`, `externalURL` and `groupKey`, in characters. */
export const MAX_URL_LENGTH = 8 * 1024;
/** One alert's labels, annotations (names and values) and generatorURL together, in UTF-8 bytes. */
export const MAX_ALERT_BYTES = 64 * 1024;
/** Alerts one `POST /alerts` may carry: Alertmanager's own `max_alerts` cap is a fine size. */
export const MAX_ALERTS_PER_REQUEST = 1000;
/**
 * Groups one `POST /alerts` may carry. A webhook is always one group; bare alerts form one group per
 * service + alertname, and every group costs a queue message and its own writes.
 */
export const MAX_GROUPS_PER_REQUEST = 20;

const pairs = (maxValue: number) =>
  z
    .record(
      z
        .string()
        .check(
          z.minLength(1, 'a name must not be empty'),
          z.maxLength(MAX_LABEL_NAME, `a name is longer than ${MAX_LABEL_NAME} characters`),
        ),
      z.string().check(z.maxLength(maxValue, `longer than ${maxValue} characters`)),
    )
    .check(z.refine((m) => Object.keys(m).length <= MAX_PAIRS, { message: `more than ${MAX_PAIRS} entries` }));
/**
 * Label names that name the service, in order of preference. `service` is the convention; the
 * others are what Kubernetes and Prometheus scrape configs usually carry.
 */
export const SERVICE_LABELS = ['service', 'app', 'app_kubernetes_io_name', 'job', 'container'] as const;

// A service name ends up in keys (`S#<service>`, `C#<kind>#<service>`), so it is held to the context
// API's limit: DynamoDB keys are at most 2,048 bytes.
const labelSet = z.lazy(() =>
  pairs(MAX_LABEL_VALUE).check(
    z.superRefine((labels, ctx) => {
      for (const name of SERVICE_LABELS) {
        if ((labels[name]?.length ?? 0) > MAX_SERVICE_LENGTH) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `a service name is at most ${MAX_SERVICE_LENGTH} characters`,
          });
        }
      }
    }),
  ),
);
const annotationSet = z.lazy(() => pairs(MAX_ANNOTATION_VALUE));
const url = (what: string) =>
  z.string().check(z.maxLength(MAX_URL_LENGTH, `${what} is longer than ${MAX_URL_LENGTH} characters`));
const alertLabels = z.lazy(() =>
  labelSet.check(z.refine((l) => Boolean(l.alertname), { message: 'labels.alertname is required' })),
);
const fingerprint = z.lazy(() => z.string().check(z.regex(/^[0-9a-f]{1,16}$/i, 'expected up to 16 hex digits')));

/** UTF-8 length without an encoder (the core stays free of runtime APIs). */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes, 2 per half.
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return n;
}

const pairBytes = (m: Record<string, string>) =>
  Object.entries(m).reduce((n, [k, v]) => n + utf8Bytes(k) + utf8Bytes(v), 0);

/** The per-alert size budget, reported on its largest part so the caller knows what to trim. */
function withinAlertBudget(
  alert: { labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string },
  ctx: z.core.$RefinementCtx,
) {
  const parts = {
    labels: pairBytes(alert.labels),
    annotations: pairBytes(alert.annotations),
    generatorURL: utf8Bytes(alert.generatorURL),
  };
  const total = parts.labels + parts.annotations + parts.generatorURL;
  if (total <= MAX_ALERT_BYTES) return;
  const largest = (Object.keys(parts) as (keyof typeof parts)[]).reduce((a, b) => (parts[b] > parts[a] ? b : a));
  ctx.addIssue({
    code: 'custom',
    path: [largest],
    message: `labels, annotations and generatorURL of one alert are ${total} bytes (UTF-8) together; the limit is ${MAX_ALERT_BYTES}`,
  });
}

export const alertStatus = z.lazy(() => z.enum(['firing', 'resolved']));
export type AlertStatus = z.infer<typeof alertStatus>;

/** One alert inside an Alertmanager webhook (version 4). */
export const webhookAlertSchema = z.lazy(() =>
  z
    .object({
      status: alertStatus,
      labels: alertLabels,
      annotations: z._default(annotationSet, {}),
      startsAt: eventTime,
      endsAt: z.optional(endTime),
      generatorURL: z._default(url('generatorURL'), ''),
      fingerprint,
    })
    .check(z.superRefine(withinAlertBudget)),
);

/** The Alertmanager webhook body, version 4. */
export const webhookSchema = z.lazy(() =>
  z.object({
    version: z.optional(z.literal('4', { message: 'expected "4"' })),
    receiver: z._default(
      z.string().check(z.maxLength(MAX_LABEL_VALUE, `receiver is longer than ${MAX_LABEL_VALUE} characters`)),
      '',
    ),
    groupKey: url('groupKey').check(z.minLength(1, 'groupKey must not be empty')),
    status: alertStatus,
    truncatedAlerts: z._default(z.number().check(z.int(), z.nonnegative(), z.maximum(1_000_000_000)), 0),
    groupLabels: z._default(labelSet, {}),
    commonLabels: z._default(labelSet, {}),
    commonAnnotations: z._default(annotationSet, {}),
    externalURL: z._default(url('externalURL'), ''),
    alerts: z.array(webhookAlertSchema).check(z.minLength(1, 'at least one alert is required')),
  }),
);
export type Webhook = z.infer<typeof webhookSchema>;

/**
 * A bare alert, as a script or another monitoring tool might post it: only `labels.alertname` is
 * required. A missing `startsAt` means "received now"; a missing fingerprint is computed the way
 * Alertmanager computes it, so the same label set always maps to the same alert.
 */
export const bareAlertSchema = z.lazy(() =>
  z
    .object({
      status: z.optional(alertStatus),
      labels: alertLabels,
      annotations: z._default(annotationSet, {}),
      startsAt: z.optional(eventTime),
      endsAt: z.optional(endTime),
      generatorURL: z._default(url('generatorURL'), ''),
      fingerprint: z.optional(fingerprint),
    })
    .check(z.superRefine(withinAlertBudget)),
);
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
 * The first service label that names something, trimmed as context ingest trims a deploy's or a log
 * line's service (a blank one would be an empty PagerDuty `source`).
 */
export function serviceOf(labels: Record<string, string>): string {
  for (const name of SERVICE_LABELS) {
    const value = labels[name]?.trim();
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

/** Bare alerts, one group per service + alertname (in order of first appearance). */
function fromBare(alerts: BareAlert[], receivedAt: string): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const alert of alerts) {
    const one = instance(alert, receivedAt);
    const groupKey = bareGroupKey(one.service, one.alertname);
    const group = groups.get(groupKey);
    if (group) {
      group.alerts.push(one);
      if (one.status === 'firing') group.status = 'firing';
      continue;
    }
    groups.set(groupKey, {
      groupKey,
      status: one.status,
      receiver: '',
      externalURL: '',
      truncatedAlerts: 0,
      groupLabels: { alertname: one.alertname, service: one.service },
      commonLabels: one.labels,
      commonAnnotations: one.annotations,
      alerts: [one],
    });
  }
  return [...groups.values()];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TIME_FIELDS = ['startsAt', 'endsAt'] as const;

function tooMany(path: string, count: number, max: number, what: string): ValidationError {
  return new ValidationError([{ path, message: `at most ${max} ${what} per request, got ${count}` }], 'alert');
}

/**
 * Parses what `POST /alerts` accepts: an Alertmanager webhook body (recognised by `alerts` or
 * `groupKey`), a bare alert, or an array of bare alerts (one group per service + alertname). Throws
 * a ValidationError naming every bad field, and for more than {@link MAX_ALERTS_PER_REQUEST} alerts or
 * {@link MAX_GROUPS_PER_REQUEST} groups.
 *
 * @param receivedAt the reference "now": for bare alerts without `startsAt`, and the end of the
 *   accepted time range.
 */
export function parseAlertPayload(body: unknown, receivedAt: string): AlertGroup[] {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new ValidationError([{ path: '', message: 'expected at least one alert' }], 'alert');
    // Counted before parsing, so a huge array costs no more than a small one.
    if (body.length > MAX_ALERTS_PER_REQUEST) throw tooMany('', body.length, MAX_ALERTS_PER_REQUEST, 'alerts');
    const issues: FieldIssue[] = [];
    const alerts: BareAlert[] = [];
    for (const [index, item] of body.entries()) {
      const result = bareAlertSchema.safeParse(item);
      if (result.success) {
        alerts.push(result.data);
        issues.push(...futureTimeIssues(result.data, TIME_FIELDS, receivedAt, [index]));
      } else issues.push(...toFieldIssues(result.error, [index]));
    }
    if (issues.length) throw new ValidationError(issues, 'alert');
    const groups = fromBare(alerts, receivedAt);
    if (groups.length > MAX_GROUPS_PER_REQUEST) {
      throw tooMany('', groups.length, MAX_GROUPS_PER_REQUEST, 'groups (distinct service + alertname)');
    }
    return groups;
  }
  if (!isRecord(body)) {
    throw new ValidationError(
      [{ path: '', message: 'expected an Alertmanager webhook body or an alert object' }],
      'alert',
    );
  }
  if ('alerts' in body || 'groupKey' in body) {
    if (Array.isArray(body.alerts) && body.alerts.length > MAX_ALERTS_PER_REQUEST) {
      throw tooMany('alerts', body.alerts.length, MAX_ALERTS_PER_REQUEST, 'alerts');
    }
    const result = webhookSchema.safeParse(body);
    if (!result.success) throw new ValidationError(toFieldIssues(result.error), 'webhook');
    const hook = result.data;
    const late = hook.alerts.flatMap((a, i) => futureTimeIssues(a, TIME_FIELDS, receivedAt, ['alerts', i]));
    if (late.length) throw new ValidationError(late, 'webhook');
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
  const late = futureTimeIssues(result.data, TIME_FIELDS, receivedAt);
  if (late.length) throw new ValidationError(late, 'alert');
  return fromBare([result.data], receivedAt);
}

/** The service a group is about: its common or group labels first, then its first alert. */
export function groupService(group: AlertGroup): string {
  const common = serviceOf({ ...group.commonLabels, ...group.groupLabels });
  return common !== 'unknown' ? common : (group.alerts[0]?.service ?? 'unknown');
}

export function groupAlertname(group: AlertGroup): string {
  return group.groupLabels.alertname ?? group.commonLabels.alertname ?? group.alerts[0]?.alertname ?? 'unknown';
}
