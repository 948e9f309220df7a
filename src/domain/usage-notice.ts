/**
 * Coalescing of `usage.updated`: at most one per line per interval, and the last one always
 * sent. A line's notice remembers when the last update went out and, while one is held back,
 * which usage id it is named after and when it is due. Time comes in as `now`.
 *
 * - The current month's update goes out at once if the interval has passed since the last
 *   one; otherwise it is held back until `lastSentAt + interval` (the notice is *pending*), and
 *   later batches inside the interval only rename it to their last usage id.
 * - The last update of a month that closes (a later month opened) goes out at once, whatever
 *   the interval: it is the last state of that month and nothing later would carry it.
 * - `dueUsageUpdated` is the sweeper's: the held-back update, built from the record as it is
 *   then, once it is due.
 */
import { compareInstants, normaliseInstant, toEpochMs, type Instant, type Month } from './calendar.js';
import type { DomainEventOf } from './events.js';
import type { LineMonth } from './line-month.js';
import type { TouchedRecord } from './usage-batch.js';
import { usageUpdated } from './usage.js';

export interface UsageNotice {
  /** The month of the last update decided (sent or pending). */
  month: Month;
  /** The usage id the pending (or last sent) update is named after. */
  lastUsageId: string;
  lastSentAt: Instant | null;
  /** Set while an update is held back: when it may go out. */
  dueAt: Instant | null;
}

export type UsageUpdated = DomainEventOf<'opensim.usage.updated'>;

export interface CoalesceInput {
  notice: UsageNotice | null;
  /** The record after the batch, with the last usage id the batch counted in it. */
  current: TouchedRecord;
  /** Records the batch closed (a later month opened), oldest first. */
  closed: readonly TouchedRecord[];
  /** The record of a pending notice's month when it is neither `current` nor in `closed` (closed earlier). */
  pendingRecord?: LineMonth | null;
  now: Instant;
  intervalMs: number;
}

export function coalesceUsageUpdated(input: CoalesceInput): { notice: UsageNotice | null; events: UsageUpdated[] } {
  const { notice, current, now, intervalMs } = input;
  const at = normaliseInstant(now);
  const events: UsageUpdated[] = [];
  const pending = notice?.dueAt ? notice : null;
  let lastSentAt = notice?.lastSentAt ?? null;

  // Months that ended: their last state goes out now.
  const ended = [...input.closed];
  if (pending && pending.month !== current.record.month && !ended.some((c) => c.record.month === pending.month) && input.pendingRecord?.month === pending.month) {
    ended.unshift({ record: input.pendingRecord, lastUsageId: null });
  }
  for (const { record, lastUsageId } of ended) {
    const name = lastUsageId ?? (pending?.month === record.month ? pending.lastUsageId : null);
    if (name === null) continue;
    events.push(usageUpdated(record, name));
    lastSentAt = at;
  }

  if (current.lastUsageId === null) {
    if (events.length === 0) return { notice, events };
    const stillPending = pending?.month === current.record.month ? pending : null;
    return { notice: stillPending ? { ...stillPending, lastSentAt } : { month: current.record.month, lastUsageId: notice!.lastUsageId, lastSentAt, dueAt: null }, events };
  }
  if (lastSentAt === null || toEpochMs(at) - toEpochMs(lastSentAt) >= intervalMs) {
    events.push(usageUpdated(current.record, current.lastUsageId));
    return { notice: { month: current.record.month, lastUsageId: current.lastUsageId, lastSentAt: at, dueAt: null }, events };
  }
  const dueAt = new Date(toEpochMs(lastSentAt) + intervalMs).toISOString();
  return { notice: { month: current.record.month, lastUsageId: current.lastUsageId, lastSentAt, dueAt }, events };
}

/** The held-back update once due, built from `record` (the notice month's record), and the notice after it. */
export function dueUsageUpdated(notice: UsageNotice | null, record: LineMonth | null, now: Instant): { notice: UsageNotice; event: UsageUpdated } | null {
  if (!notice?.dueAt || compareInstants(now, notice.dueAt) < 0) return null;
  if (!record || record.month !== notice.month) return null;
  return { notice: { ...notice, lastSentAt: normaliseInstant(now), dueAt: null }, event: usageUpdated(record, notice.lastUsageId) };
}
