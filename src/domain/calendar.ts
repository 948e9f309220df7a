/**
 * Instants, Paris calendar days and billing months.
 *
 * Instants are RFC 3339 strings with an explicit offset (`2026-11-15T10:00:00+01:00`, `…Z`).
 * A string without an offset is refused: `Date.parse` would read it in the host's time zone,
 * and the domain must give the same answer on every machine. Instants the domain produces
 * are normalised to UTC (`toISOString()` form).
 *
 * The billing month is the calendar month in Europe/Paris. `Intl.DateTimeFormat` with an
 * explicit time zone is pure: same input, same output, whatever the host's zone.
 */

/** An RFC 3339 date-time with an offset. */
export type Instant = string;
/** A Paris calendar day, `YYYY-MM-DD`. */
export type ParisDay = string;
/** A billing month, `YYYY-MM`. */
export type Month = string;

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|z|([+-])(\d{2}):(\d{2}))$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

const parisFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** Epoch milliseconds of an instant; a `RangeError` naming the value when it is not a valid RFC 3339 instant. */
export function toEpochMs(instant: Instant): number {
  const match = INSTANT.exec(instant);
  const ms = match ? Date.parse(instant) : Number.NaN;
  if (!match || Number.isNaN(ms) || !fieldsInRange(match)) {
    throw new RangeError(`invalid instant '${instant}': expected RFC 3339 with an offset, e.g. 2026-11-15T10:00:00+01:00`);
  }
  return ms;
}

function fieldsInRange(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = m.slice(1).map((v) => Number(v ?? 0));
  return (
    month! >= 1 && month! <= 12 &&
    day! >= 1 && day! <= daysInMonth(`${m[1]}-${m[2]}`) &&
    year! >= 1 && hour! <= 23 && minute! <= 59 && second! <= 59 &&
    offsetHours! <= 23 && offsetMinutes! <= 59
  );
}

/** True when `value` is an instant `toEpochMs` accepts. */
export function isInstant(value: string): boolean {
  try {
    toEpochMs(value);
    return true;
  } catch {
    return false;
  }
}

/** The instant in UTC `toISOString()` form. */
export function normaliseInstant(instant: Instant): Instant {
  return new Date(toEpochMs(instant)).toISOString();
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareInstants(a: Instant, b: Instant): number {
  return toEpochMs(a) - toEpochMs(b);
}

/** The Paris calendar day containing the instant. */
export function parisDay(instant: Instant): ParisDay {
  const parts = parisFormat.formatToParts(new Date(toEpochMs(instant)));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** The billing month (Paris) containing the instant. */
export function parisMonth(instant: Instant): Month {
  return parisDay(instant).slice(0, 7);
}

/** Validates a `YYYY-MM` month; a `RangeError` naming the value otherwise. */
export function assertMonth(month: string): Month {
  if (!MONTH.test(month)) throw new RangeError(`invalid month '${month}': expected YYYY-MM, e.g. 2026-11`);
  return month;
}

/** Number of days of a `YYYY-MM` month (Gregorian leap years). */
export function daysInMonth(month: Month): number {
  const [year, monthNumber] = assertMonth(month).split('-').map(Number) as [number, number];
  if (monthNumber === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(monthNumber) ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The Paris day `day` (1-based) of a month. */
export function dayOf(month: Month, day: number): ParisDay {
  return `${month}-${String(day).padStart(2, '0')}`;
}

/** The month after `month`. */
export function nextMonth(month: Month): Month {
  const [year, monthNumber] = assertMonth(month).split('-').map(Number) as [number, number];
  return monthNumber === 12 ? `${String(year + 1).padStart(4, '0')}-01` : `${String(year).padStart(4, '0')}-${String(monthNumber + 1).padStart(2, '0')}`;
}
