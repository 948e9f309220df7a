import { describe, expect, it } from 'vitest';
import { assertMonth, compareInstants, daysInMonth, isInstant, nextMonth, normaliseInstant, parisDay, parisMonth, toEpochMs } from './calendar.js';

describe('Paris calendar days', () => {
  it.each([
    ['2026-11-15T10:00:00+01:00', '2026-11-15', 'a plain winter instant'],
    ['2026-11-30T23:30:00Z', '2026-12-01', '23:30 UTC on the last day of November is 1 December in Paris'],
    ['2026-03-29T22:30:00Z', '2026-03-30', 'the night of the spring DST switch (UTC+2 already)'],
    ['2026-03-28T23:30:00Z', '2026-03-29', 'the evening before the spring switch (UTC+1)'],
    ['2026-10-24T22:30:00Z', '2026-10-25', 'the night of the autumn switch, still summer time'],
    ['2026-10-25T22:30:00Z', '2026-10-25', 'the evening after the autumn switch (UTC+1)'],
    ['2026-10-25T23:00:00Z', '2026-10-26', 'midnight Paris after the autumn switch'],
    ['2028-02-29T12:00:00-05:00', '2028-02-29', 'a leap day, given with another offset'],
  ])('given %s, when its Paris day is asked, then it is %s (%s)', (instant, expected) => {
    expect(parisDay(instant)).toBe(expected);
  });

  it('given an instant, when its month is asked, then it is the Paris month', () => {
    expect(parisMonth('2026-12-31T23:00:00Z')).toBe('2027-01');
  });
});

describe('instants', () => {
  it.each(['2026-11-15T10:00:00', '2026-11-15', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-15T24:00:00Z', '2026-11-15T10:00:00+25:00', 'yesterday'])(
    'given %s, when parsed, then it is refused with a message naming it',
    (value) => {
      expect(isInstant(value)).toBe(false);
      expect(() => toEpochMs(value)).toThrow(new RegExp(`invalid instant '${value.replace(/[+]/g, '\\+')}'`));
    },
  );

  it('given instants with offsets, when normalised and compared, then they are UTC and ordered by time', () => {
    expect(normaliseInstant('2026-11-15T10:00:00.5+01:00')).toBe('2026-11-15T09:00:00.500Z');
    expect(compareInstants('2026-11-15T10:00:00+01:00', '2026-11-15T09:00:00Z')).toBe(0);
    expect(compareInstants('2026-11-15T10:00:00+02:00', '2026-11-15T09:00:00Z')).toBeLessThan(0);
    expect(isInstant('2026-11-15T10:00Z')).toBe(true);
  });
});

describe('months', () => {
  it.each([
    ['2026-11', 30],
    ['2026-10', 31],
    ['2026-02', 28],
    ['2028-02', 29],
    ['2100-02', 28],
    ['2000-02', 29],
  ])('given %s, when its length is asked, then it has %i days', (month, days) => {
    expect(daysInMonth(month)).toBe(days);
  });

  it.each(['2026-13', '2026-1', 'november', '2026-00'])('given %s, when validated, then it is refused', (month) => {
    expect(() => assertMonth(month)).toThrow(`invalid month '${month}'`);
  });

  it('given a month, when the next one is asked, then December rolls into January', () => {
    expect(nextMonth('2026-11')).toBe('2026-12');
    expect(nextMonth('2026-12')).toBe('2027-01');
  });
});
