/**
 * The PagerDuty sink (Events API v2): `opened` and a material `updated` are `trigger` events, and
 * `resolved` a `resolve`, all with the incident id as `dedup_key` — so PagerDuty folds every update
 * into the one alert, a re-sent event after a crash changes nothing, and the resolve closes it.
 * Deploys can also be forwarded as Change Events (`sendPagerDutyChangeEvent`).
 */
import {
  compareFindings,
  type Deploy,
  type Finding,
  type Incident,
  type IncidentEvent,
  IncidentPilotError,
  type Severity,
  type Sink,
} from '@incident-pilot/core';
import { oneLine, sanitizeText } from './escape.js';
import {
  clip,
  incidentLinks,
  jsonOf,
  type PagingSinkOptions,
  type PostAnswer,
  postJson,
  requireHttpUrl,
  requireSuccess,
} from './http.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's four severities; ours has five. */
export const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

/** Documented limits: `summary` 1,024 characters, `dedup_key` 255. */
export const PAGERDUTY_LIMITS = { summary: 1024, dedupKey: 255 } as const;

// Keeps an event far below PagerDuty's 512 KB: the ranked top of the findings, each string bounded.
const MAX_FINDINGS = 10;
const MAX_EVIDENCE = 10;
const MAX_TEXT = 1000;

/** The body of an Events API v2 request (`trigger` or `resolve`). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client?: string;
  client_url?: string;
}

export interface PagerDutySinkOptions extends PagingSinkOptions {
  /** The integration's routing key. A secret: never in messages. */
  routingKey: string;
  /** The Events API v2 enqueue URL (default: PagerDuty's). */
  url?: string;
}

/** The incident's dedup key: the same for every event of the incident, and only of this incident. */
export const pagerDutyDedupKey = (incident: Incident) => clip(incident.id, PAGERDUTY_LIMITS.dedupKey);

const text = (s: string) => clip(sanitizeText(s), MAX_TEXT);

function findingDetails(finding: Finding) {
  return {
    rule: finding.ruleId,
    severity: finding.severity,
    confidence: finding.confidence,
    summary: text(finding.summary),
    suggestion: text(finding.suggestion),
    evidence: finding.evidence.slice(0, MAX_EVIDENCE).map((e) => ({
      kind: e.kind,
      ref: text(e.ref),
      detail: text(e.detail),
      ...(e.at ? { at: e.at } : {}),
    })),
  };
}

/** `[HIGH] title (service) — top finding`, one line, within 1,024 characters. */
export function pagerDutySummary(incident: Incident): string {
  const [top] = [...incident.findings].sort(compareFindings);
  const head = `[${incident.severity.toUpperCase()}] ${incident.title || incident.alertname} (${incident.service})`;
  return clip(oneLine(top ? `${head} — ${top.summary}` : head), PAGERDUTY_LIMITS.summary);
}

/** The Events API v2 body for an incident event; pure, exported for previews and tests. */
export function buildPagerDutyEvent(event: IncidentEvent, routingKey: string, apiUrl = ''): PagerDutyEvent {
  const { incident } = event;
  const dedup_key = pagerDutyDedupKey(incident);
  if (event.type === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key };
  const findings = [...incident.findings].sort(compareFindings);
  const custom_details: Record<string, unknown> = {
    incident_id: incident.id,
    status: incident.status,
    severity: incident.severity,
    service: incident.service,
    team: incident.team || 'unassigned',
    alerts: {
      firing: incident.firingCount,
      resolved: incident.resolvedAlertCount,
      total: incident.alertCount,
      ...(incident.truncatedAlerts > 0 ? { left_out_by_alertmanager: incident.truncatedAlerts } : {}),
    },
    findings: findings.slice(0, MAX_FINDINGS).map(findingDetails),
  };
  if (findings.length > MAX_FINDINGS) custom_details.findings_omitted = findings.length - MAX_FINDINGS;
  if (event.type === 'updated') {
    custom_details.revision = event.revision;
    custom_details.changes = (event.changes ?? []).map((c) => text(c.summary));
  }
  if (incident.previousIncidentId) custom_details.recurs_after = incident.previousIncidentId;
  const links = incidentLinks(incident, apiUrl);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: pagerDutySummary(incident),
      source: clip(oneLine(incident.service), MAX_TEXT),
      severity: PAGERDUTY_SEVERITY[incident.severity],
      timestamp: event.type === 'updated' ? incident.lastSeenAt : incident.openedAt,
      component: clip(oneLine(incident.service), MAX_TEXT),
      group: clip(oneLine(incident.team || 'unassigned'), MAX_TEXT),
      class: clip(oneLine(incident.alertname), MAX_TEXT),
      custom_details,
    },
    ...(links.length > 0 ? { links } : {}),
    client: 'incident-pilot',
    ...(apiUrl ? { client_url: apiUrl } : {}),
  };
}

/** PagerDuty's 400 body: `{status, message, errors: [...]}`, as one line naming the problem. */
function problemOf(answer: PostAnswer): string {
  const body = jsonOf(answer);
  if (!body) return answer.detail;
  const errors = Array.isArray(body.errors) ? body.errors.filter((e) => typeof e === 'string') : [];
  const message = typeof body.message === 'string' ? body.message : '';
  const problem = [message, errors.join('; ')].filter(Boolean).join(': ');
  return problem ? clip(oneLine(problem), 300) : answer.detail;
}

/**
 * A `Sink` sending Events API v2 requests. 2xx (PagerDuty answers 202): delivered. 429, 5xx and
 * dropped connections: retried in-call, then TransientError. 400 (an invalid event) and any other
 * status (a bad URL, a proxy refusing): PermanentSinkError naming PagerDuty's own explanation.
 */
export function createPagerDutySink({
  routingKey,
  url = PAGERDUTY_EVENTS_URL,
  apiUrl = '',
  fetch = globalThis.fetch,
  name = 'pagerduty',
  timeoutMs = 5000,
  attempts = 3,
  backoffMs = 250,
}: PagerDutySinkOptions): Sink {
  requireHttpUrl(name, url);
  if (!routingKey) throw new IncidentPilotError(`${name} sink: a routing key is required`);
  const eventsUrl = pagerDutyEventsUrl(url);
  return {
    name,
    async deliver(event) {
      const body = JSON.stringify(buildPagerDutyEvent(event, routingKey, apiUrl));
      const answer = await postJson({
        sink: name,
        url: eventsUrl,
        headers: () => ({}),
        body,
        fetch,
        timeoutMs,
        attempts,
        backoffMs,
        secrets: [routingKey],
      });
      requireSuccess(name, answer, problemOf(answer));
    },
  };
}

/** The Events API URL; a bare origin (`https://events.eu.pagerduty.com`) means its `/v2/enqueue`. */
export function pagerDutyEventsUrl(url = PAGERDUTY_EVENTS_URL): string {
  const parsed = new URL(url);
  return parsed.pathname === '/' ? new URL('/v2/enqueue', parsed).toString() : url;
}

/** The Change Events URL next to an Events API URL: `…/v2/enqueue` → `…/v2/change/enqueue`. */
export function pagerDutyChangeUrl(eventsUrl = PAGERDUTY_EVENTS_URL): string {
  const url = new URL(eventsUrl);
  url.pathname = url.pathname.endsWith('/enqueue')
    ? url.pathname.replace(/\/enqueue$/, '/change/enqueue')
    : '/v2/change/enqueue';
  return url.toString();
}

/** The Change Events body for a deploy; pure. */
export function buildPagerDutyChangeEvent(deploy: Deploy, routingKey: string) {
  const by = deploy.author ? ` by ${deploy.author}` : '';
  return {
    routing_key: routingKey,
    payload: {
      summary: clip(oneLine(`Deploy of ${deploy.service}: ${deploy.commit}${by}`), PAGERDUTY_LIMITS.summary),
      timestamp: deploy.when,
      source: clip(oneLine(deploy.service), MAX_TEXT),
      custom_details: {
        service: deploy.service,
        commit: deploy.commit,
        ...(deploy.author ? { author: deploy.author } : {}),
        ...(deploy.message ? { message: text(deploy.message) } : {}),
        source: 'incident-pilot',
      },
    },
  };
}

export interface ChangeEventOptions {
  routingKey: string;
  /** The Events API URL; the Change Events URL is derived from it. */
  url?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

/** Change events sent per context request; a larger batch is a backfill, not news for the on-call. */
export const MAX_CHANGE_EVENTS = 10;

/**
 * Forwards deploys as PagerDuty Change Events (the first {@link MAX_CHANGE_EVENTS}), in parallel, one
 * attempt each: best effort, the caller logs a failure and carries on. Resolves to how many were
 * sent; throws the first failure after trying them all.
 */
export async function sendPagerDutyChangeEvents(deploys: Deploy[], options: ChangeEventOptions): Promise<number> {
  const { routingKey, fetch = globalThis.fetch, timeoutMs = 2000 } = options;
  const url = pagerDutyChangeUrl(options.url);
  const sink = 'pagerduty change events';
  const results = await Promise.allSettled(
    deploys.slice(0, MAX_CHANGE_EVENTS).map(async (deploy) => {
      const answer = await postJson({
        sink,
        url,
        headers: () => ({}),
        body: JSON.stringify(buildPagerDutyChangeEvent(deploy, routingKey)),
        fetch,
        timeoutMs,
        attempts: 1,
        backoffMs: 0,
        secrets: [routingKey],
      });
      requireSuccess(sink, answer, problemOf(answer));
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.length;
}
