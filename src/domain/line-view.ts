/**
 * The line view of CONTRACT.md ("Queries"): what a dashboard asks for when it starts, derived on
 * read from the line as the pipeline stored it (its month record, enforcement, version). It is
 * never stored: there is no second copy to drift from the line.
 *
 * The month shown is the Paris month of `now`. A record of an earlier month means no decision
 * has touched the line since the month began (the rollover has not reached it yet): the view
 * shows the record the next decision would open, as `rollMonth` does (current plan's envelope,
 * usage zero, nothing crossed, state normal), so a dashboard never shows last month's usage as
 * this month's. A line with no record yet (just seeded) gets the same. A record of a later month
 * than `now` (a clock slightly behind at midnight) is shown as it is.
 */
import { parisMonth, type Instant, type Month } from './calendar.js';
import { productOf, type Category, type ProductCatalog } from './catalog.js';
import type { Enforcement } from './decide-alert.js';
import type { Envelope } from './envelope.js';
import type { DataStateReason, PlanRef, UsageView } from './events.js';
import { openMonth, remainingBytes, usageView, type LineMonth } from './line-month.js';
import type { Line, LineState } from './line.js';
import { overageExposureBytes, type DataState, type ThresholdName, type Thresholds } from './thresholds.js';

/** A change waiting for its `effectiveAt` (CONTRACT.md, scheduled changes). */
export interface ScheduledChangeView {
  requestId: string;
  to: PlanRef;
  effectiveAt: Instant;
}

/** What the network enforces this month (the threshold-alert consumer's), when it acted this month. */
export interface EnforcementView {
  state: DataState;
  reason: DataStateReason;
  since: Instant;
}

/** The line's current plan: its active resource and that resource's product. */
export interface LineViewPlan extends PlanRef {
  label: string;
  category: Category;
}

export interface LineView {
  lineId: string;
  clientAccountId: string;
  serviceRef: string;
  state: LineState;
  /** The rules' decision for the month, as `usage.updated` and `envelope.recomputed` carry it. */
  dataState: DataState;
  month: Month;
  plan: LineViewPlan;
  envelope: Envelope;
  thresholds: Thresholds;
  usage: UsageView;
  remainingBytes: number | null;
  overageExposureBytes: number | null;
  /** Thresholds crossed this month and not lifted since by an upgrade (the record's `crossed`). */
  crossed: ThresholdName[];
  scheduledChange: ScheduledChangeView | null;
  /** Addition to CONTRACT.md: the enforced state, `null` until the alert consumer acts this month. */
  enforcement: EnforcementView | null;
  version: number;
  /** The instant of the line's last guarded write; `null` for a line written before it was recorded. */
  updatedAt: Instant | null;
}

/** The line as stored: the fields of its document the view is derived from. */
export interface LineViewSource {
  line: Line;
  clientAccountId: string;
  month: LineMonth | null;
  enforcement: Enforcement | null;
  /** The line's pending change as the view shows it: `scheduledChangeView(line)`. */
  scheduledChange: ScheduledChangeView | null;
  version: number;
  updatedAt: Instant | null;
}

/** The view of the line at `now`; `products` must hold every product of its plan history. */
export function lineView(source: LineViewSource, products: ProductCatalog, now: Instant): LineView {
  const { line, clientAccountId } = source;
  const record = monthShown(source, products, parisMonth(now));
  const current = line.planHistory.at(-1);
  const product = productOf(products, current?.productRef ?? '');
  return {
    lineId: line.lineId,
    clientAccountId,
    serviceRef: line.serviceRef,
    state: line.state,
    dataState: record.dataState,
    month: record.month,
    plan: { resourceId: line.activeResourceId, productRef: product.productRef, label: product.label, category: product.category },
    envelope: record.envelope,
    thresholds: record.thresholds,
    usage: usageView(record),
    remainingBytes: remainingBytes(record),
    overageExposureBytes: overageExposureBytes(record.envelope, record.thresholds),
    crossed: [...record.crossed],
    scheduledChange: source.scheduledChange,
    enforcement: enforcementOf(source.enforcement, record.month),
    version: source.version,
    updatedAt: source.updatedAt,
  };
}

function monthShown(source: LineViewSource, products: ProductCatalog, current: Month): LineMonth {
  if (source.month && source.month.month >= current) return source.month;
  const { line, clientAccountId } = source;
  return openMonth({ lineId: line.lineId, clientAccountId, planHistory: line.planHistory, products }, current);
}

/** An enforcement of another month is over: every month starts enforced `normal`. */
function enforcementOf(enforcement: Enforcement | null, month: Month): EnforcementView | null {
  if (!enforcement || enforcement.month !== month) return null;
  return { state: enforcement.state, reason: enforcement.reason, since: enforcement.since };
}
