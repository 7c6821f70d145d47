import type { FieldIssue } from '../errors.js';
import { formatPath } from '../validation.js';
import * as z from './zod.js';

// RFC 3339 as Alertmanager writes it: 0 to 9 fractional digits, `Z` or a numeric offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Go's zero time: what Alertmanager sends as `endsAt` of a firing alert. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** The earliest time a caller may send (Go's zero time as `endsAt` aside). */
export const EARLIEST_TIME = '2000-01-01T00:00:00Z';
const EARLIEST_MS = Date.parse(EARLIEST_TIME);

/** How far after its receipt a time may lie: clock skew, generously. */
export const MAX_FUTURE_HOURS = 24;

/** Any RFC 3339 time. */
export const timestamp = z.lazy(() =>
  z.string().check(
    z.refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'invalid datetime (expected RFC 3339, e.g. 2026-11-25T03:59:04.097Z)',
    }),
  ),
);

const notBefore = `before ${EARLIEST_TIME}`;

/** When something happened (`startsAt`, `when`, a context `timestamp`): RFC 3339, not before 2000. */
export const eventTime = z.lazy(() =>
  timestamp.check(z.refine((s) => Date.parse(s) >= EARLIEST_MS, { message: notBefore })),
);

/** An `endsAt`: like {@link eventTime}, or Go's zero time ("unset"). */
export const endTime = z.lazy(() =>
  timestamp.check(
    z.refine((s) => isZeroTime(s) || Date.parse(s) >= EARLIEST_MS, {
      message: `${notBefore} (Go's zero time ${GO_ZERO_TIME} means "not ended")`,
    }),
  ),
);

export function toMillis(ts: string): number {
  return Date.parse(ts);
}

/** True for Go's zero time and anything before year 1000: "no end set". */
export function isZeroTime(ts: string | undefined | null): boolean {
  return ts == null || ts === GO_ZERO_TIME || Date.parse(ts) < Date.parse('1000-01-01T00:00:00Z');
}

/**
 * The upper end of the accepted time range, which depends on the moment of receipt and so is checked
 * after the schema: each of `fields` of `item` (a zero `endsAt` aside) may lie at most
 * {@link MAX_FUTURE_HOURS} after `receivedAt`. Issues are named under `path`.
 */
export function futureTimeIssues(
  item: Record<string, unknown>,
  fields: readonly string[],
  receivedAt: string,
  path: readonly PropertyKey[] = [],
): FieldIssue[] {
  const latest = Date.parse(receivedAt) + MAX_FUTURE_HOURS * 3_600_000;
  return fields.flatMap((field) => {
    const value = item[field];
    if (typeof value !== 'string' || isZeroTime(value) || !(Date.parse(value) > latest)) return [];
    return [{ path: formatPath([...path, field]), message: `more than ${MAX_FUTURE_HOURS} h in the future` }];
  });
}
