import { timestamp, toMillis } from '@incident-pilot/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A number written with `width` digits, from a range a little wider than the field's valid one. */
const field = (min: number, max: number, width: number) =>
  fc.integer({ min, max }).map((n) => String(n).padStart(width, '0'));

/** Strings of the shape `toISOString()` writes, with fields in and out of range. */
const isoShaped = fc
  .tuple(field(0, 9999, 4), field(0, 13, 2), field(0, 32, 2), field(0, 25, 2), field(0, 61, 2), field(0, 61, 2))
  .chain((parts) => field(0, 999, 3).map((ms) => [...parts, ms]))
  .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);

describe('toMillis', () => {
  it.each([
    ['the form toISOString writes', '2026-11-25T03:59:04.097Z'],
    ['a day past the end of its month', '2026-02-30T00:00:00.000Z'],
    ['hour 24', '2026-01-01T24:00:00.000Z'],
    ['a leap second', '2026-12-31T23:59:60.000Z'],
    ['a year below 100', '0050-01-01T00:00:00.000Z'],
    ['a numeric offset', '2026-11-25T05:59:04+02:00'],
    ['nanoseconds', '2026-11-25T03:59:04.097123456Z'],
    ['no fraction', '2026-11-25T03:59:04Z'],
    ['something else', 'yesterday'],
  ])('gives what Date.parse gives for %s', (_name, ts) => {
    expect(toMillis(ts)).toBe(Date.parse(ts));
  });

  it('counts the days of every year as Date.parse does: leap years, centuries, days past a month end', () => {
    const days = ['01-01', '02-28', '02-29', '02-30', '02-31', '03-01', '04-31', '12-31'];
    const differing: string[] = [];
    for (let year = 0; year <= 9999; year++) {
      for (const day of days) {
        const ts = `${String(year).padStart(4, '0')}-${day}T23:59:59.999Z`;
        if (toMillis(ts) !== Date.parse(ts)) differing.push(ts);
      }
    }
    expect(differing).toEqual([]);
  });

  it('gives what Date.parse gives for any string of that shape, or one character off', () => {
    const offByOne = fc
      .tuple(isoShaped, fc.nat(23), fc.constantFrom('0', 'a', ' ', '+', '-', 'Z', '٣'))
      .map(([ts, i, c]) => `${ts.slice(0, i)}${c}${ts.slice(i + 1)}`);
    const real = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    fc.assert(
      fc.property(fc.oneof(isoShaped, offByOne, real), (ts) => {
        expect(toMillis(ts)).toBe(Date.parse(ts));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('timestamp', () => {
  it('takes every day of the calendar, February 29th in leap years only', () => {
    for (const day of ['2024-02-29', '2000-02-29', '2026-01-31', '2026-04-30', '2026-12-31']) {
      expect(timestamp.safeParse(`${day}T12:00:00Z`).success, day).toBe(true);
    }
    for (const day of ['2026-02-29', '2100-02-29', '2026-02-30', '2026-06-31', '2026-11-31']) {
      expect(timestamp.safeParse(`${day}T12:00:00Z`).error?.issues[0]?.message, day).toBe(
        'no such day (its month is shorter)',
      );
    }
  });
});
