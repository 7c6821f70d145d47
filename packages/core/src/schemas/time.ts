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

/** Any RFC 3339 time of a day the calendar has. */
export const timestamp = z.lazy(() =>
  z.string().check(
    z.refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'invalid datetime (expected RFC 3339, e.g. 2026-11-25T03:59:04.097Z)',
      // The range checks added to it would only repeat the error in other words.
      abort: true,
    }),
    // `Date.parse` takes 2026-02-30 for 2026-03-02: a time would be stored as another day than sent.
    z.refine(isCalendarDate, { message: 'no such day (its month is shorter)', abort: true }),
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

/** The number written in `ts[from, to)`, or NaN if a character there is not a digit. */
function digitsAt(ts: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = ts.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return Number.NaN;
    n = n * 10 + digit;
  }
  return n;
}

const DAY_MS = 86_400_000;
// Days before the first of each month in a common year.
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** Leap years from year 0 (one of them) up to `year`, `year` not included. */
function leapYearsBefore(year: number): number {
  const last = year - 1;
  return Math.floor(last / 4) - Math.floor(last / 100) + Math.floor(last / 400) + 1;
}

const LEAP_YEARS_BEFORE_EPOCH = leapYearsBefore(1970);

/**
 * Days from 1970-01-01 to `year-month-day` of the proleptic Gregorian calendar, counted as `Date.UTC`
 * counts them: a day past the end of its month runs on into the next.
 */
function daysSinceEpoch(year: number, month: number, day: number): number {
  const leapDays = leapYearsBefore(year) - LEAP_YEARS_BEFORE_EPOCH + (month > 2 && isLeapYear(year) ? 1 : 0);
  return (year - 1970) * 365 + leapDays + (DAYS_BEFORE_MONTH[month - 1] as number) + day - 1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether the date of an RFC 3339 time is a day of its month (February 29th in leap years only). */
function isCalendarDate(ts: string): boolean {
  const year = digitsAt(ts, 0, 4);
  const month = digitsAt(ts, 5, 7);
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return days !== undefined && digitsAt(ts, 8, 10) <= days;
}

/** `2026-11-25T03:59:04.097Z`: the form `toISOString()` writes, which most clients send. */
const isIsoShape = (ts: string) =>
  ts.length === 24 &&
  ts.charCodeAt(4) === 45 && // -
  ts.charCodeAt(7) === 45 &&
  ts.charCodeAt(10) === 84 && // T
  ts.charCodeAt(13) === 58 && // :
  ts.charCodeAt(16) === 58 &&
  ts.charCodeAt(19) === 46 && // .
  ts.charCodeAt(23) === 90; // Z

/**
 * `Date.parse(ts)`, the same value for every string, only faster for the form `toISOString()` writes:
 * the rules parse thousands of context timestamps per correlation. Its fields are read directly when
 * they are in the ranges `Date.parse` accepts (a day past the end of its month rolls over in both), and
 * the time is counted from them here rather than by `Date.UTC`, which costs about as much again. Every
 * other form goes to `Date.parse`.
 */
export function toMillis(ts: string): number {
  if (isIsoShape(ts)) {
    const year = digitsAt(ts, 0, 4);
    const month = digitsAt(ts, 5, 7);
    const day = digitsAt(ts, 8, 10);
    const hour = digitsAt(ts, 11, 13);
    const minute = digitsAt(ts, 14, 16);
    const second = digitsAt(ts, 17, 19);
    const ms = digitsAt(ts, 20, 23);
    if (year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59) {
      if (second <= 59 && ms >= 0) {
        return daysSinceEpoch(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
      }
    }
  }
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
