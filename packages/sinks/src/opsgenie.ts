/**
 * The Opsgenie sink (Alert API v2): `opened` creates an alert whose `alias` is the incident id, a
 * material `updated` adds a note to it (raising its priority first when the severity rose), `resolved`
 * closes it — all by alias. Opsgenie deduplicates creates by alias, so an event re-sent after a crash
 * adds to the alert's count, not a second alert.
 * Opsgenie processes requests asynchronously: its 202 with a request id is success.
 */
import {
  compareFindings,
  type Incident,
  type IncidentEvent,
  IncidentPilotError,
  type Severity,
  type Sink,
  UNOWNED_TEAM,
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

export const OPSGENIE_API_URL = 'https://api.opsgenie.com';

export const OPSGENIE_PRIORITY: Record<Severity, 'P1' | 'P2' | 'P3' | 'P4' | 'P5'> = {
  critical: 'P1',
  high: 'P2',
  medium: 'P3',
  low: 'P4',
  info: 'P5',
};

/** Documented field limits of the Alert API (characters, or entries for `tags`). */
export const OPSGENIE_LIMITS = {
  message: 130,
  alias: 512,
  description: 15_000,
  tags: 20,
  tag: 50,
  details: 8000,
  entity: 512,
  source: 100,
  note: 25_000,
} as const;

const SOURCE = 'incident-pilot';
const MAX_FINDINGS = 10;
const MAX_EVIDENCE = 5;

/** The body of a create-alert request. */
export interface OpsgenieAlert {
  message: string;
  alias: string;
  description: string;
  responders: { type: 'team'; name: string }[];
  tags: string[];
  details: Record<string, string>;
  entity: string;
  source: string;
  priority: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
}

export interface OpsgenieSinkOptions extends PagingSinkOptions {
  /** An API integration's key. A secret: never in messages. */
  apiKey: string;
  /** Base URL (default: the US instance; `https://api.eu.opsgenie.com` for the EU one). */
  url?: string;
}

export const opsgenieAlias = (incident: Incident) => clip(incident.id, OPSGENIE_LIMITS.alias);

/** The findings, ranked, with their suggestions and evidence, as plain text. */
function findingsText(incident: Incident): string {
  const findings = [...incident.findings].sort(compareFindings);
  if (findings.length === 0) return 'No rule found a likely cause; start from the alert runbook.';
  const blocks = findings
    .slice(0, MAX_FINDINGS)
    .map((f, i) =>
      [
        `${i + 1}. [${f.severity} · ${f.confidence} confidence] ${oneLine(f.summary)} (${f.ruleId})`,
        `   Try: ${oneLine(f.suggestion)}`,
        ...f.evidence.slice(0, MAX_EVIDENCE).map((e) => `   - ${e.kind} ${oneLine(e.ref)}: ${oneLine(e.detail)}`),
      ].join('\n'),
    );
  if (findings.length > MAX_FINDINGS) blocks.push(`…and ${findings.length - MAX_FINDINGS} more findings`);
  return blocks.join('\n');
}

function description(incident: Incident, apiUrl: string): string {
  const links = incidentLinks(incident, apiUrl).map((l) => l.href);
  // The engine's titles already read "<alertname> on <service>…".
  const title = incident.title || incident.alertname;
  const total = incident.alertCount;
  const lines = [
    title.includes(incident.service) ? title : `${title} on ${incident.service}`,
    `Severity ${incident.severity} · team ${incident.team || 'unassigned'} · ` +
      `${incident.firingCount} firing, ${incident.resolvedAlertCount} resolved of ${total} alert${total === 1 ? '' : 's'}`,
    '',
    findingsText(incident),
    ...(links.length > 0 ? ['', ...links] : []),
  ];
  return clip(sanitizeText(lines.join('\n')), OPSGENIE_LIMITS.description);
}

/** String-valued details within Opsgenie's total size, most useful first. */
function details(incident: Incident, apiUrl: string): Record<string, string> {
  const [top] = [...incident.findings].sort(compareFindings);
  const entries: [string, string][] = [
    ['incident', incident.id],
    ['service', incident.service],
    ['alertname', incident.alertname],
    ['team', incident.team || 'unassigned'],
    ['severity', incident.severity],
    ['alerts', `${incident.firingCount} firing, ${incident.resolvedAlertCount} resolved`],
  ];
  if (top) entries.push(['likely cause', top.summary], ['suggestion', top.suggestion], ['rule', top.ruleId]);
  for (const link of incidentLinks(incident, apiUrl)) entries.push(['link', link.href]);
  if (incident.previousIncidentId) entries.push(['recurs after', incident.previousIncidentId]);
  const out: Record<string, string> = {};
  let used = 0;
  for (const [key, raw] of entries) {
    const value = clip(oneLine(raw), 1000);
    if (used + key.length + value.length > OPSGENIE_LIMITS.details) break;
    out[key] = value;
    used += key.length + value.length;
  }
  return out;
}

function tags(incident: Incident): string[] {
  const raw = [SOURCE, `severity:${incident.severity}`, incident.service, incident.alertname, incident.team];
  const unique = [...new Set(raw.map((t) => clip(oneLine(t), OPSGENIE_LIMITS.tag)).filter(Boolean))];
  return unique.slice(0, OPSGENIE_LIMITS.tags);
}

/** The create-alert body for an `opened` incident; pure, exported for previews and tests. */
export function buildOpsgenieAlert(incident: Incident, apiUrl = ''): OpsgenieAlert {
  // No responder for an unrouted incident: "unowned" names no Opsgenie team.
  const team = incident.team === UNOWNED_TEAM ? '' : oneLine(incident.team);
  return {
    message: clip(oneLine(`[${incident.severity}] ${incident.title || incident.alertname}`), OPSGENIE_LIMITS.message),
    alias: opsgenieAlias(incident),
    description: description(incident, apiUrl),
    // The team routing's team, by name: it must match an Opsgenie team for the alert to reach it.
    responders: team ? [{ type: 'team', name: team }] : [],
    tags: tags(incident),
    details: details(incident, apiUrl),
    entity: clip(oneLine(incident.service), OPSGENIE_LIMITS.entity),
    source: SOURCE,
    priority: OPSGENIE_PRIORITY[incident.severity],
  };
}

/** The note added by a material `updated`: what changed, then the current ranking. */
export function opsgenieUpdateNote(event: IncidentEvent): string {
  const changes = (event.changes ?? []).map((c) => `- ${oneLine(c.summary)}`);
  const lines = [
    `incident-pilot update${event.revision ? ` #${event.revision}` : ''}: severity ${event.incident.severity}, ` +
      `${event.incident.firingCount} firing, ${event.incident.resolvedAlertCount} resolved`,
    ...changes,
    '',
    findingsText(event.incident),
  ];
  return clip(sanitizeText(lines.join('\n')), OPSGENIE_LIMITS.note);
}

function closeNote(incident: Incident): string {
  const how =
    incident.resolution === 'manual'
      ? 'resolved by hand'
      : incident.resolution === 'any_alert_resolved'
        ? 'an alert resolved'
        : 'all alerts resolved';
  return `incident-pilot: ${incident.id} resolved (${how}) at ${incident.resolvedAt ?? incident.lastSeenAt}`;
}

/** Opsgenie's error body: `{message, errors?: {field: text}}`, as one line. */
function problemOf(answer: PostAnswer): string {
  const body = jsonOf(answer);
  if (!body) return answer.detail;
  const message = typeof body.message === 'string' ? body.message : '';
  const errors =
    body.errors && typeof body.errors === 'object'
      ? Object.entries(body.errors as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`)
      : [];
  const problem = [message, errors.join('; ')].filter(Boolean).join(' ');
  const hint = answer.status === 401 || answer.status === 403 ? ' — check the API key and its permissions' : '';
  return problem ? clip(oneLine(problem + hint), 300) : answer.detail;
}

/**
 * A `Sink` calling the Alert API. 2xx (Opsgenie answers 202): delivered. 429, 5xx and dropped
 * connections: retried in-call, then TransientError. 401/403 (a bad key), 422 (an unprocessable
 * alert) and other statuses: PermanentSinkError with Opsgenie's explanation. A note or close for an
 * alert Opsgenie no longer has (404) is done: there is nothing left to update.
 */
export function createOpsgenieSink({
  apiKey,
  url = OPSGENIE_API_URL,
  apiUrl = '',
  fetch = globalThis.fetch,
  name = 'opsgenie',
  timeoutMs = 5000,
  attempts = 3,
  backoffMs = 250,
}: OpsgenieSinkOptions): Sink {
  requireHttpUrl(name, url);
  if (!apiKey) throw new IncidentPilotError(`${name} sink: an API key is required`);
  const base = url.replace(/\/+$/, '');
  const post = (path: string, body: unknown, method: 'POST' | 'PUT' = 'POST') =>
    postJson({
      sink: name,
      method,
      url: `${base}${path}`,
      headers: () => ({ authorization: `GenieKey ${apiKey}` }),
      body: JSON.stringify(body),
      fetch,
      timeoutMs,
      attempts,
      backoffMs,
      secrets: [apiKey],
    });

  return {
    name,
    async deliver(event) {
      const { incident } = event;
      if (event.type === 'opened') {
        const answer = await post('/v2/alerts', buildOpsgenieAlert(incident, apiUrl));
        return requireSuccess(name, answer, problemOf(answer));
      }
      const alias = encodeURIComponent(opsgenieAlias(incident));
      // A note leaves the priority as created: an escalation must raise it too, or a P3 alert that became
      // critical never meets a P1 notification policy. First, so a retry after a failed note repeats only
      // this idempotent request, never the note.
      if (event.type === 'updated' && event.changes?.some((c) => c.kind === 'severity_up')) {
        const priority = { priority: OPSGENIE_PRIORITY[incident.severity] };
        const raised = await post(`/v2/alerts/${alias}/priority?identifierType=alias`, priority, 'PUT');
        if (raised.status === 404) return;
        requireSuccess(name, raised, problemOf(raised));
      }
      const answer =
        event.type === 'updated'
          ? await post(`/v2/alerts/${alias}/notes?identifierType=alias`, {
              note: opsgenieUpdateNote(event),
              source: SOURCE,
              user: SOURCE,
            })
          : await post(`/v2/alerts/${alias}/close?identifierType=alias`, {
              note: closeNote(incident),
              source: SOURCE,
              user: SOURCE,
            });
      if (answer.status === 404) return;
      requireSuccess(name, answer, problemOf(answer));
    },
  };
}
