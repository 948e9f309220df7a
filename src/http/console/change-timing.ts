import { nextMonth, parisDay, parisMonth, toEpochMs, type Instant } from '../../domain/index.js';

/**
 * When a change asked from the console takes effect: « maintenant », or « au début du mois
 * prochain » (00:00 Paris on the 1st of next month, the start of a billing month: a downgrade
 * then never blocks a line mid-month, since its block threshold is not prorated). Computed on
 * the server with the pipeline's clock, so the page, the preview and the request agree.
 */
export const WHEN = ['now', 'next-month'] as const;
export type When = (typeof WHEN)[number];

/** The form's `when`; absent means now. `null` for anything else (a 400). */
export function parseWhen(value: string | undefined): When | null {
  if (value === undefined || value === '') return 'now';
  return (WHEN as readonly string[]).includes(value) ? (value as When) : null;
}

/** `effectiveAt` of the request: none for now (an immediate change), the next month's start otherwise. */
export function effectiveAtOf(when: When, now: Date): Instant | undefined {
  return when === 'now' ? undefined : nextMonthStart(now);
}

/**
 * 00:00 Paris on the 1st of the month after `now`'s, with its Paris offset
 * (`2026-12-01T00:00:00+01:00`). Paris changes offset at 02:00 or 03:00, never at midnight,
 * so exactly one of +01:00 and +02:00 names a midnight that starts the 1st.
 */
export function nextMonthStart(now: Date): Instant {
  const month = nextMonth(parisMonth(now.toISOString()));
  const first = `${month}-01`;
  for (const offset of ['+01:00', '+02:00']) {
    const candidate = `${first}T00:00:00${offset}`;
    const ms = toEpochMs(candidate);
    if (parisDay(candidate) === first && parisDay(new Date(ms - 1).toISOString()) !== first) return candidate;
  }
  throw new Error(`no Paris midnight starts ${first}`);
}
