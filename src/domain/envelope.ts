/**
 * The prorated data envelope of a month (BRIEF.md, "The prorated data envelope").
 *
 * - Month = calendar month in Europe/Paris, `D` days; days are Paris calendar days.
 * - Each day is owned by the plan in force at the end of that Paris day: the change day belongs
 *   to the new plan, and of several changes on one day the last one wins.
 * - Days before the first history entry (activation) are owned by no plan.
 * - A segment is an unbroken run of days owned by one product; returning to an earlier product
 *   after another one starts a new segment.
 * - Segment allowance = floor(allowanceBytes × days / D), computed with BigInt; the envelope is
 *   the sum. A metered product has no allowance: its segments carry `allowanceBytes: null` and
 *   `proratedBytes: null`, and `totalBytes` is `null` as soon as one segment is metered.
 *   A month in which the line owns no day has no segments and `totalBytes: 0`.
 */
import { daysInMonth, dayOf, parisDay, toEpochMs, assertMonth, type Month, type ParisDay } from './calendar.js';
import { productOf, type ProductCatalog } from './catalog.js';
import type { PlanHistoryEntry } from './line.js';

export interface Segment {
  productRef: string;
  fromDay: number;
  toDay: number;
  days: number;
  allowanceBytes: number | null;
  proratedBytes: number | null;
}

/** The CONTRACT.md `envelope` object. */
export interface Envelope {
  month: Month;
  days: number;
  totalBytes: number | null;
  segments: Segment[];
}

/** What the envelope needs from a history entry. */
export type PlanPeriodStart = Pick<PlanHistoryEntry, 'productRef' | 'effectiveAt'>;

/** The envelope of `month` for a line whose plan history is `history`. */
export function computeEnvelope(history: readonly PlanPeriodStart[], month: Month, products: ProductCatalog): Envelope {
  const days = daysInMonth(assertMonth(month));
  const owners = dailyOwners(history, month, days);
  const segments = runsOf(owners).map(({ productRef, fromDay, toDay }) => segment(productRef, fromDay, toDay, days, products));
  return { month, days, totalBytes: total(segments), segments };
}

/** The product owning each day 1..D of the month (index 0 = day 1), `null` before activation. */
function dailyOwners(history: readonly PlanPeriodStart[], month: Month, days: number): (string | null)[] {
  const starts = chronological(history).map((entry) => ({ productRef: entry.productRef, day: parisDay(entry.effectiveAt) }));
  return Array.from({ length: days }, (_, index) => ownerAtEndOf(starts, dayOf(month, index + 1)));
}

function ownerAtEndOf(starts: readonly { productRef: string; day: ParisDay }[], day: ParisDay): string | null {
  let owner: string | null = null;
  for (const start of starts) {
    if (start.day > day) break;
    owner = start.productRef;
  }
  return owner;
}

/** History sorted by instant; entries at the same instant keep their recorded order. */
function chronological(history: readonly PlanPeriodStart[]): PlanPeriodStart[] {
  return history
    .map((entry, index) => ({ entry, index, ms: toEpochMs(entry.effectiveAt) }))
    .sort((a, b) => a.ms - b.ms || a.index - b.index)
    .map(({ entry }) => entry);
}

function runsOf(owners: readonly (string | null)[]): { productRef: string; fromDay: number; toDay: number }[] {
  const runs: { productRef: string; fromDay: number; toDay: number }[] = [];
  owners.forEach((owner, index) => {
    if (owner === null) return;
    const last = runs.at(-1);
    if (last && last.productRef === owner && last.toDay === index) last.toDay = index + 1;
    else runs.push({ productRef: owner, fromDay: index + 1, toDay: index + 1 });
  });
  return runs;
}

function segment(productRef: string, fromDay: number, toDay: number, monthDays: number, products: ProductCatalog): Segment {
  const allowanceBytes = productOf(products, productRef).dataAllowanceBytes;
  const days = toDay - fromDay + 1;
  return { productRef, fromDay, toDay, days, allowanceBytes, proratedBytes: prorate(allowanceBytes, days, monthDays) };
}

/** floor(allowance × days / monthDays) in exact integer arithmetic. */
export function prorate(allowanceBytes: number | null, days: number, monthDays: number): number | null {
  if (allowanceBytes === null) return null;
  return Number((BigInt(allowanceBytes) * BigInt(days)) / BigInt(monthDays));
}

function total(segments: readonly Segment[]): number | null {
  let sum = 0n;
  for (const { proratedBytes } of segments) {
    if (proratedBytes === null) return null;
    sum += BigInt(proratedBytes);
  }
  return Number(sum);
}

/** The product in force at the end of the month's last day (the current plan for the current month), `null` before activation. */
export function productRefAtEndOf(history: readonly PlanPeriodStart[], month: Month): string | null {
  const starts = chronological(history).map((entry) => ({ productRef: entry.productRef, day: parisDay(entry.effectiveAt) }));
  return ownerAtEndOf(starts, dayOf(month, daysInMonth(assertMonth(month))));
}
