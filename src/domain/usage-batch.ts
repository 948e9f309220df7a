/**
 * recordUsageBatch — many usage reports of one line, decided as one change of one record.
 *
 * Usage volume is far higher than plan changes: the adapter groups the reports of a line and
 * writes the outcome once. The decision is exactly `recordUsage` applied report after report
 * (same counters, same crossings, same keys), with two differences that only concern events:
 * - `usage.updated` is coalesced: one per month touched, the last one, placed after that
 *   month's crossings (it describes the state they led to);
 * - a record replaced by a later month (usage of December before the rollover ran) is
 *   returned in `closed`, so the adapter can archive it.
 *
 * Reports are taken month by month (stable within a month). The adapter must not pass reports
 * of a month earlier than `state.month`: those belong to that month's archived record, which it
 * decides in a separate call.
 */
import { parisMonth, type Instant, type Month } from './calendar.js';
import type { DomainEvent } from './events.js';
import type { LineMonth } from './line-month.js';
import type { UsageReason } from './reasons.js';
import { recordUsage, type RecordUsageCommand, type RecordUsageState } from './usage.js';

export type UsageBatchState = RecordUsageState;

export interface UsageRejection {
  usageId: string;
  reason: Exclude<UsageReason, 'INVALID_PAYLOAD'>;
  message: string;
}

/** A month record and the last usage id counted in it by the batch (`null`: none). */
export interface TouchedRecord {
  record: LineMonth;
  lastUsageId: string | null;
}

export interface UsageBatchResult {
  /** The record after the batch (`state.month`, if nothing was counted). */
  month: LineMonth | null;
  /** The last usage id counted in `month`, `null` if none. */
  lastUsageId: string | null;
  /** Records of earlier months replaced by a later one during the batch, oldest first. */
  closed: TouchedRecord[];
  /** Month-start events and crossings, in the order they happened; no `usage.updated`. */
  events: DomainEvent[];
  /** Usage ids counted, in the order they were. */
  recorded: string[];
  rejected: UsageRejection[];
  duplicates: string[];
}

export function recordUsageBatch(commands: readonly RecordUsageCommand[], state: UsageBatchState, now: Instant): UsageBatchResult {
  const ordered = commands
    .map((command, index) => ({ command, index, month: parisMonth(command.occurredAt) }))
    .sort((a, b) => (a.month === b.month ? a.index - b.index : a.month < b.month ? -1 : 1))
    .map((entry) => entry.command);
  const seen = new Set(state.recordedUsageIds);
  const result: UsageBatchResult = { month: state.month, lastUsageId: null, closed: [], events: [], recorded: [], rejected: [], duplicates: [] };

  for (const command of ordered) {
    const decided = recordUsage(command, { ...state, month: result.month, recordedUsageIds: seen.has(command.usageId) ? [command.usageId] : [] }, now);
    switch (decided.outcome) {
      case 'duplicate':
        result.duplicates.push(command.usageId);
        break;
      case 'rejected':
        result.rejected.push({ usageId: command.usageId, reason: decided.reason, message: decided.message });
        break;
      case 'recorded': {
        const previous = result.month;
        if (previous && previous.month !== decided.month.month) {
          result.closed.push({ record: previous, lastUsageId: result.lastUsageId });
          result.lastUsageId = null;
        }
        result.events.push(...decided.events.filter((event) => event.type !== 'opensim.usage.updated'));
        seen.add(command.usageId);
        result.recorded.push(command.usageId);
        result.lastUsageId = command.usageId;
        result.month = decided.month;
        break;
      }
      default: {
        const unknown: never = decided;
        throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
      }
    }
  }
  return result;
}

/**
 * Where a report of `month` is counted: on the line's own record, or — for a month the line has
 * already left (its record is of a later month) — on that month's archived record, which keeps
 * counting late usage without touching the current month's thresholds.
 */
export function countedOn(lineRecordMonth: Month | null, month: Month): 'line' | 'archive' {
  return lineRecordMonth !== null && month < lineRecordMonth ? 'archive' : 'line';
}
