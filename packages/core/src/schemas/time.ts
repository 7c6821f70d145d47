import * as z from 'zod';

// RFC 3339 as Alertmanager writes it: 0 to 9 fractional digits, `Z` or a numeric offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Go's zero time: what Alertmanager sends as `endsAt` of a firing alert. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export const timestamp = z.string().refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'invalid datetime (expected RFC 3339, e.g. 2026-11-25T03:59:04.097Z)',
});

export function toMillis(ts: string): number {
  return Date.parse(ts);
}

/** True for Go's zero time and anything before year 1000: "no end set". */
export function isZeroTime(ts: string | undefined | null): boolean {
  return ts == null || ts === GO_ZERO_TIME || Date.parse(ts) < Date.parse('1000-01-01T00:00:00Z');
}
