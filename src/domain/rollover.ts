/**
 * Month rollover: at the start of a Paris month the envelope is the current plan's (prorated
 * from activation for a line activated that month), usage restarts at zero, crossings are
 * cleared and a reduced or blocked line is back to normal (the record's decided state; lifting
 * the enforcement is the threshold-alert consumer's, on `envelope.recomputed` cause month-start).
 */
import { assertMonth, parisMonth, type Instant, type Month } from './calendar.js';
import type { ProductCatalog } from './catalog.js';
import { domainEvent, eventKeys, type DomainEvent } from './events.js';
import type { Line } from './line.js';
import { envelopeRecomputedData, openMonth, type LineMonth } from './line-month.js';

export interface RollMonthState {
  line: Pick<Line, 'lineId' | 'activatedAt' | 'planHistory'>;
  clientAccountId: string;
  products: ProductCatalog;
  /** The line's latest month record, `null` if it has none. */
  month: LineMonth | null;
}

export type RollMonthResult = { outcome: 'rolled'; month: LineMonth; events: DomainEvent[] } | { outcome: 'unchanged' };

/** Opens `newMonth` for the line. Idempotent: nothing happens when the latest record is that month or later. */
export function rollMonth(state: RollMonthState, newMonth: Month): RollMonthResult {
  assertMonth(newMonth);
  if (state.month && state.month.month >= newMonth) return { outcome: 'unchanged' };
  const { record, events } = startMonth(state, newMonth);
  return { outcome: 'rolled', month: record, events };
}

/** The fresh record of `month` and its monitoring events (also used when a decision finds no record for the current month). */
export function startMonth(state: RollMonthState, month: Month): { record: LineMonth; events: DomainEvent[] } {
  const { line, clientAccountId, products } = state;
  const record = openMonth({ lineId: line.lineId, clientAccountId, planHistory: line.planHistory, products }, month);
  const cause = activatedIn(line.activatedAt, month) ? 'activation' : 'month-start';
  // A reduced or blocked line is normal again in the new month: the record says so, and the
  // threshold-alert consumer lifts the enforcement when it sees this event (enforcement.ts).
  const events: DomainEvent[] = [
    domainEvent('opensim.envelope.recomputed', eventKeys.envelope(line.lineId, month, cause), envelopeRecomputedData(record, cause)),
  ];
  return { record, events };
}

function activatedIn(activatedAt: Instant, month: Month): boolean {
  return parisMonth(activatedAt) === month;
}
