/**
 * The monitoring record of one line and one Paris month: envelope, thresholds, counters,
 * crossed thresholds and data state. Stored as one plain document per (lineId, month).
 * The envelope and thresholds are a snapshot of what `computeEnvelope` gives for the line's plan
 * history: recomputing them from the history always gives the same values.
 */
import type { Month } from './calendar.js';
import type { ProductCatalog } from './catalog.js';
import { productOf } from './catalog.js';
import { computeEnvelope, productRefAtEndOf, type Envelope } from './envelope.js';
import type { EnvelopeCause, EnvelopeRecomputedData, UsageView } from './events.js';
import type { PlanHistoryEntry } from './line.js';
import {
  THRESHOLD_NAMES,
  overageExposureBytes,
  thresholdsOf,
  usedBytes,
  type DataState,
  type MonthUsage,
  type ThresholdName,
  type Thresholds,
} from './thresholds.js';

export interface LineMonth {
  lineId: string;
  clientAccountId: string;
  month: Month;
  envelope: Envelope;
  /** The full values of the plan in force at the end of the month so far. */
  thresholds: Thresholds;
  usage: MonthUsage;
  /** Thresholds currently crossed (a set, in THRESHOLD_NAMES order). */
  crossed: ThresholdName[];
  /** How many times each threshold was crossed this month (numbers the crossing events). */
  crossingCounts: Record<ThresholdName, number>;
  dataState: DataState;
}

/** What a month record is computed from: the line, its account, its history, the catalogue. */
export interface LinePlans {
  lineId: string;
  clientAccountId: string;
  planHistory: readonly PlanHistoryEntry[];
  products: ProductCatalog;
}

/** A fresh record of `month`: envelope and thresholds from the history, counters at zero, state normal. */
export function openMonth(plans: LinePlans, month: Month): LineMonth {
  return {
    lineId: plans.lineId,
    clientAccountId: plans.clientAccountId,
    month,
    ...planned(plans, month),
    usage: { frBytes: 0, euBytes: 0, spendCents: 0 },
    crossed: [],
    crossingCounts: Object.fromEntries(THRESHOLD_NAMES.map((name) => [name, 0])) as Record<ThresholdName, number>,
    dataState: 'normal',
  };
}

/** The record with envelope and thresholds recomputed from the (changed) history; counters kept. */
export function replan(record: LineMonth, plans: LinePlans): LineMonth {
  return { ...record, ...planned(plans, record.month) };
}

function planned(plans: LinePlans, month: Month): { envelope: Envelope; thresholds: Thresholds } {
  const productRef = productRefAtEndOf(plans.planHistory, month);
  return {
    envelope: computeEnvelope(plans.planHistory, month, plans.products),
    thresholds: thresholdsOf(productRef === null ? null : productOf(plans.products, productRef)),
  };
}

export function usageView(record: LineMonth): UsageView {
  return { ...record.usage, usedBytes: usedBytes(record.usage) };
}

/** Bytes left in the envelope (never negative); `null` without an envelope. */
export function remainingBytes(record: LineMonth): number | null {
  const total = record.envelope.totalBytes;
  return total === null ? null : Math.max(0, total - usedBytes(record.usage));
}

export function envelopeRecomputedData(record: LineMonth, cause: EnvelopeCause): EnvelopeRecomputedData {
  return {
    lineId: record.lineId,
    clientAccountId: record.clientAccountId,
    month: record.month,
    envelope: record.envelope,
    thresholds: record.thresholds,
    usage: usageView(record),
    overageExposureBytes: overageExposureBytes(record.envelope, record.thresholds),
    dataState: record.dataState,
    cause,
  };
}
