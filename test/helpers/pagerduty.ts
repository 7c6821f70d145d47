/**
 * A PagerDuty Events API v2 stand-in on 127.0.0.1: `POST /v2/enqueue` and `POST /v2/change/enqueue`
 * with PagerDuty's validation and answers (202 `{status, message, dedup_key}`, 400 `invalid event`
 * with `errors[]`, 429 `throttle event`), and PagerDuty's alert model: a `trigger` whose `dedup_key`
 * names an open alert folds into it, a `resolve` closes it, and after that the key opens a new alert.
 *
 * ```ts
 * const pd = await startPagerDutyStandIn();
 * pd.fail({ status: 429 }, { status: 500 }); // then normal answers
 * const sink = createPagerDutySink({ routingKey: pd.routingKey, url: pd.url });
 * expect(pd.alerts()).toEqual([expect.objectContaining({ dedupKey: 'inc-…', status: 'triggered' })]);
 * ```
 */
import { randomUUID } from 'node:crypto';
import { type StandIn, type StandInRequest, startStandIn } from './stand-in.js';

export interface PagerDutyAlert {
  dedupKey: string;
  status: 'triggered' | 'resolved';
  /** Trigger events folded into this alert (the first included). */
  triggers: number;
  summary: string;
  severity: string;
}

export interface PagerDutyStandIn extends StandIn {
  /** The Events API URL to configure (`…/v2/enqueue`). */
  url: string;
  /** A valid routing key (32 characters) that this stand-in accepts. */
  routingKey: string;
  /** Accepted (202) events, in order. */
  // biome-ignore lint/suspicious/noExplicitAny: event bodies are asserted by the tests
  events: any[];
  // biome-ignore lint/suspicious/noExplicitAny: change event bodies are asserted by the tests
  changeEvents: any[];
  /** Alerts as PagerDuty would show them, oldest first. */
  alerts(): PagerDutyAlert[];
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

const invalid = (...errors: string[]) => ({
  status: 400,
  body: { status: 'invalid event', message: 'Event object is invalid', errors },
});

export async function startPagerDutyStandIn(
  routingKey = 'R0123456789abcdef0123456789ABCDE',
): Promise<PagerDutyStandIn> {
  const alerts: PagerDutyAlert[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: see PagerDutyStandIn
  const events: any[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: see PagerDutyStandIn
  const changeEvents: any[] = [];

  const checkKey = (key: unknown): string | null => {
    if (typeof key !== 'string' || key.length !== 32) {
      return "Length of 'routing_key' is incorrect (should be 32 characters)";
    }
    return key === routingKey ? null : 'Invalid routing key';
  };

  const enqueue = (request: StandInRequest) => {
    // biome-ignore lint/suspicious/noExplicitAny: validated field by field below
    let event: any;
    try {
      event = request.json();
    } catch {
      return invalid('Event object is not valid JSON');
    }
    const keyProblem = checkKey(event?.routing_key);
    if (keyProblem) return invalid(keyProblem);
    const action = event.event_action;
    if (!['trigger', 'acknowledge', 'resolve'].includes(action)) {
      return invalid("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
    }
    if (event.dedup_key !== undefined && (typeof event.dedup_key !== 'string' || event.dedup_key.length > 255)) {
      return invalid("'dedup_key' must be a string of at most 255 characters");
    }
    if (action !== 'trigger' && !event.dedup_key) return invalid("'dedup_key' is required for this event_action");
    if (action === 'trigger') {
      const p = event.payload ?? {};
      const errors: string[] = [];
      if (typeof p.summary !== 'string' || !p.summary) errors.push("'payload.summary' is missing or blank");
      else if (p.summary.length > 1024) errors.push("'payload.summary' is too long (max 1024 characters)");
      if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing or blank");
      if (!SEVERITIES.includes(p.severity)) errors.push("'payload.severity' is invalid");
      if (p.timestamp !== undefined && Number.isNaN(Date.parse(p.timestamp))) {
        errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp");
      }
      if (errors.length > 0) return invalid(...errors);
    }
    const dedupKey: string = event.dedup_key ?? randomUUID().replace(/-/g, '');
    events.push(event);
    const open = alerts.find((a) => a.dedupKey === dedupKey && a.status === 'triggered');
    if (action === 'trigger') {
      if (open) open.triggers += 1;
      else {
        alerts.push({
          dedupKey,
          status: 'triggered',
          triggers: 1,
          summary: event.payload.summary,
          severity: event.payload.severity,
        });
      }
    } else if (action === 'resolve' && open) {
      open.status = 'resolved';
    }
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  };

  const change = (request: StandInRequest) => {
    // biome-ignore lint/suspicious/noExplicitAny: validated below
    let event: any;
    try {
      event = request.json();
    } catch {
      return invalid('Event object is not valid JSON');
    }
    const keyProblem = checkKey(event?.routing_key);
    if (keyProblem) return invalid(keyProblem);
    if (typeof event.payload?.summary !== 'string' || !event.payload.summary) {
      return invalid("'payload.summary' is missing or blank");
    }
    changeEvents.push(event);
    return { status: 202, body: { status: 'success', message: 'Change event processed' } };
  };

  const standIn = await startStandIn({
    handle(request) {
      if (request.method !== 'POST') return { status: 405, body: { status: 'error', message: 'Method not allowed' } };
      if (request.path === '/v2/enqueue') return enqueue(request);
      if (request.path === '/v2/change/enqueue') return change(request);
      return { status: 404, body: { status: 'error', message: 'Not found' } };
    },
    errorBody(status) {
      if (status === 400) return invalid('Event object is invalid').body;
      if (status === 429) {
        return {
          status: 'throttle event',
          message: 'Requests for this service are arriving too quickly. Please retry later.',
        };
      }
      return { status: 'error', message: 'Internal server error' };
    },
  });
  return {
    ...standIn,
    url: `${standIn.origin}/v2/enqueue`,
    routingKey,
    events,
    changeEvents,
    alerts: () => alerts.map((a) => ({ ...a })),
  };
}
