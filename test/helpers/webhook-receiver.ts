/**
 * A receiver of incident-pilot's signed webhook on 127.0.0.1, written from the README's description
 * only (not from the sink's code): it checks `X-Incident-Pilot-Signature` over the raw body, refuses
 * stale timestamps (replays) with 401, and keeps each event id once (a re-delivery is answered 200
 * and counted, not stored again).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type StandIn, startStandIn } from './stand-in.js';

/** The README's verification, verbatim in spirit: true when `header` signs `rawBody` within `toleranceSeconds`. */
export function verifySignature(
  rawBody: string,
  header: string | undefined,
  secret: string,
  nowSeconds = Date.now() / 1000,
  toleranceSeconds = 300,
): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookReceiver extends StandIn {
  url: string;
  secret: string;
  /** Verified payloads, once per event id, in arrival order. */
  // biome-ignore lint/suspicious/noExplicitAny: payloads are asserted by the tests
  events: any[];
  /** Verified re-deliveries of an event id already stored. */
  redeliveries: number;
  /** Requests refused for a missing, wrong or stale signature. */
  rejected: number;
}

export async function startWebhookReceiver(
  secret = 'whsec-test-0123456789abcdef0123456789abcdef',
  options: { toleranceSeconds?: number } = {},
): Promise<WebhookReceiver> {
  // biome-ignore lint/suspicious/noExplicitAny: see WebhookReceiver
  const events: any[] = [];
  const seen = new Set<string>();
  const state = { redeliveries: 0, rejected: 0 };
  const standIn = await startStandIn({
    handle(request) {
      const header = request.headers['x-incident-pilot-signature'];
      if (
        !verifySignature(
          request.body,
          typeof header === 'string' ? header : undefined,
          secret,
          undefined,
          options.toleranceSeconds,
        )
      ) {
        state.rejected += 1;
        return { status: 401, body: { error: 'invalid or stale signature' } };
      }
      const payload = request.json();
      if (seen.has(payload.id)) state.redeliveries += 1;
      else {
        seen.add(payload.id);
        events.push(payload);
      }
      return { status: 200, body: { ok: true } };
    },
    errorBody: (status) => ({ error: `failing on demand with ${status}` }),
  });
  return {
    ...standIn,
    url: `${standIn.origin}/hooks/incident-pilot`,
    secret,
    events,
    get redeliveries() {
      return state.redeliveries;
    },
    get rejected() {
      return state.rejected;
    },
  };
}
