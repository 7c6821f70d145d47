/**
 * An Opsgenie Alert API v2 stand-in on 127.0.0.1: create (`POST /v2/alerts`), add note
 * (`POST /v2/alerts/{identifier}/notes`), close (`POST /v2/alerts/{identifier}/close`) and update
 * priority (`PUT /v2/alerts/{identifier}/priority`), checking
 * `Authorization: GenieKey <key>` and the documented field limits, answering the way Opsgenie does
 * (202 `{result, took, requestId}`; 401, 422 with `errors`, 429 `{message, took, requestId}`).
 * Like Opsgenie, it processes requests "asynchronously": an action on an alert it cannot find is
 * still a 202, recorded in `failedRequests` (what Opsgenie's request-status API would show).
 * A create whose alias names an open alert increases that alert's `count` (Opsgenie's deduplication).
 */
import { randomUUID } from 'node:crypto';
import { type StandIn, type StandInRequest, startStandIn } from './stand-in.js';

export interface OpsgenieAlert {
  alias: string;
  status: 'open' | 'closed';
  count: number;
  /** The created priority (Opsgenie's default P3), as updated since. */
  priority: string;
  // biome-ignore lint/suspicious/noExplicitAny: the create body, asserted by the tests
  created: any;
  notes: string[];
  closeNote?: string;
}

export interface OpsgenieStandIn extends StandIn {
  /** The base URL to configure (like `https://api.opsgenie.com`). */
  url: string;
  apiKey: string;
  alerts(): OpsgenieAlert[];
  /** Accepted requests that failed while "processing" (e.g. an alias no alert has). */
  failedRequests: { path: string; reason: string }[];
}

const took = () => Math.round(Math.random() * 100) / 1000;
const accepted = () => ({
  status: 202,
  body: { result: 'Request will be processed', took: took(), requestId: randomUUID() },
});
const error = (status: number, message: string, errors?: Record<string, string>) => ({
  status,
  body: { message, ...(errors ? { errors } : {}), took: took(), requestId: randomUUID() },
});
const unprocessable = (errors: Record<string, string>) =>
  error(422, 'Request body is not processable. Please check the errors.', errors);

const PRIORITIES = ['P1', 'P2', 'P3', 'P4', 'P5'];

export async function startOpsgenieStandIn(apiKey = '3f0c1a52-7d4e-4b8f-9a61-2c5e8d7b9f10'): Promise<OpsgenieStandIn> {
  const alerts: OpsgenieAlert[] = [];
  const failedRequests: { path: string; reason: string }[] = [];

  const create = (request: StandInRequest) => {
    // biome-ignore lint/suspicious/noExplicitAny: validated below
    const body: any = request.json();
    const errors: Record<string, string> = {};
    if (typeof body.message !== 'string' || !body.message.trim()) errors.message = 'Message can not be empty.';
    else if (body.message.length > 130) errors.message = 'Message can not be longer than 130 characters.';
    if (body.alias !== undefined && (typeof body.alias !== 'string' || body.alias.length > 512)) {
      errors.alias = 'Alias can not be longer than 512 characters.';
    }
    if (typeof body.description === 'string' && body.description.length > 15_000) {
      errors.description = 'Description can not be longer than 15000 characters.';
    }
    if (body.priority !== undefined && !PRIORITIES.includes(body.priority)) {
      errors.priority = 'Priority should be one of [P1, P2, P3, P4, P5]';
    }
    const tags: unknown[] = body.tags ?? [];
    if (tags.length > 20 || tags.some((t) => typeof t !== 'string' || t.length > 50)) {
      errors.tags = 'Tags can have at most 20 entries of at most 50 characters.';
    }
    const details = Object.entries(body.details ?? {});
    if (details.some(([, v]) => typeof v !== 'string')) errors.details = 'Details values must be strings.';
    if (details.reduce((n, [k, v]) => n + k.length + String(v).length, 0) > 8000) {
      errors.details = 'Details can not be longer than 8000 characters in total.';
    }
    if (Object.keys(errors).length > 0) return unprocessable(errors);
    const open = alerts.find((a) => a.alias === body.alias && a.status === 'open');
    if (open) open.count += 1;
    else {
      const alias = body.alias ?? randomUUID();
      alerts.push({ alias, status: 'open', count: 1, priority: body.priority ?? 'P3', created: body, notes: [] });
    }
    return accepted();
  };

  /** Note or close on `/v2/alerts/{identifier}/{action}`. */
  const act = (request: StandInRequest, identifier: string, action: 'notes' | 'close') => {
    // biome-ignore lint/suspicious/noExplicitAny: validated below
    const body: any = request.body ? request.json() : {};
    if (action === 'notes' && (typeof body.note !== 'string' || !body.note)) {
      return unprocessable({ note: 'Note can not be empty.' });
    }
    if (typeof body.note === 'string' && body.note.length > 25_000) {
      return unprocessable({ note: 'Note can not be longer than 25000 characters.' });
    }
    const type = request.query.get('identifierType') ?? 'id';
    if (!['id', 'tiny', 'alias'].includes(type)) {
      return unprocessable({ identifierType: 'Identifier type should be one of [id, tiny, alias]' });
    }
    // Only aliases are modelled: an id or tiny id never matches, as an alias would not in Opsgenie.
    const alert = type === 'alias' ? alerts.find((a) => a.alias === identifier) : undefined;
    if (!alert) failedRequests.push({ path: request.path, reason: 'Alert does not exist' });
    else if (action === 'notes') alert.notes.push(body.note);
    else if (alert.status === 'open') {
      alert.status = 'closed';
      alert.closeNote = body.note;
    }
    return accepted();
  };

  const updatePriority = (request: StandInRequest, identifier: string) => {
    // biome-ignore lint/suspicious/noExplicitAny: validated below
    const body: any = request.body ? request.json() : {};
    if (!PRIORITIES.includes(body.priority)) {
      return unprocessable({ priority: 'Priority should be one of [P1, P2, P3, P4, P5]' });
    }
    const alert =
      request.query.get('identifierType') === 'alias' ? alerts.find((a) => a.alias === identifier) : undefined;
    if (!alert) failedRequests.push({ path: request.path, reason: 'Alert does not exist' });
    else alert.priority = body.priority;
    return accepted();
  };

  const standIn = await startStandIn({
    handle(request) {
      if (request.headers.authorization !== `GenieKey ${apiKey}`) return error(401, 'Could not authenticate');
      const priority = /^\/v2\/alerts\/([^/]+)\/priority$/.exec(request.path);
      if (request.method === 'PUT' && priority?.[1]) return updatePriority(request, decodeURIComponent(priority[1]));
      if (request.method !== 'POST') return error(405, 'Method not allowed');
      if (request.path === '/v2/alerts') return create(request);
      const match = /^\/v2\/alerts\/([^/]+)\/(notes|close)$/.exec(request.path);
      if (match?.[1] && match[2]) return act(request, decodeURIComponent(match[1]), match[2] as 'notes' | 'close');
      return error(404, 'Not found');
    },
    errorBody(status) {
      if (status === 401) return error(401, 'Could not authenticate').body;
      if (status === 403) return error(403, 'You are not authorized for this operation').body;
      if (status === 422) return unprocessable({ message: 'Message can not be empty.' }).body;
      if (status === 429) {
        return error(429, 'You are making too many requests! To avoid errors, we recommend you limit requests.').body;
      }
      return error(status, 'Internal Server Error').body;
    },
  });
  return {
    ...standIn,
    url: standIn.origin,
    apiKey,
    alerts: () => alerts.map((a) => ({ ...a, notes: [...a.notes] })),
    failedRequests,
  };
}
