import type { Enforcement, LineMonth, Month, ThresholdName, UsageNotice } from '../domain/index.js';
import type { OutboxEntry } from './outbox-entry.js';

/**
 * Documents of usage monitoring and threshold alerts (docs/monitoring-and-console.md). The line document
 * stays the unit of atomic change: usage counters live in its `month` record and are written
 * with the same version-guarded update as plan changes; these fields are added to it:
 * `usagePending`, `usageNotice`, `enforcement`.
 */

/** The usage ids one usage commit counted on a record, kept until their claims say `applied`. */
export interface UsageCommit {
  commit: string;
  usageIds: string[];
}

/**
 * `usage` collection: one claim per usage id, for good (beyond JetStream's duplicate window).
 * The message that inserted it owns it: only that message (by its stream sequence, the same on
 * every redelivery) may count it; another message with the same usage id is a duplicate.
 */
export interface UsageClaimDocument {
  _id: string; // usageId
  seq: number;
  /** The batch attempt that inserted it: counted once `usageAttempts/<attempt>` exists (or `applied`). */
  attempt: string;
  lineId: string;
  month: Month;
  claimedAt: string;
  /** Counted by another attempt than the one that inserted it (a redelivery's), or found counted on repair. */
  applied?: boolean;
  /** Refused by a rule (UNKNOWN_LINE, TENANT_MISMATCH): dead-lettered, never counted. */
  rejected?: string;
}

/**
 * `usageAttempts` collection: one per batch attempt whose commits all succeeded, written after
 * them: every claim it inserted is then counted (or refused). One write settles a whole batch.
 */
export interface UsageAttemptDocument {
  _id: string;
  settledAt: string;
  counted: number;
}

/**
 * `lineMonths` collection: the record of a month the line has left (`<lineId>:<month>`). Late
 * usage of that month is counted here, with the same protocol as on the line.
 */
export interface LineMonthDocument {
  _id: string;
  lineId: string;
  clientAccountId: string;
  month: Month;
  version: number;
  /** The line version the record was copied from: a stale archiver never overwrites a newer copy. */
  lineVersion: number;
  record: LineMonth;
  usagePending: UsageCommit[];
  outbox: OutboxEntry[];
}

/** `notifications` collection: one warning per crossing event (its id), as delivered. */
export interface NotificationDocument {
  _id: string; // the crossing event's id
  channel: 'sms' | 'webhook';
  lineId: string;
  clientAccountId: string;
  /** The MSISDN the SMS goes to; `null` when the line has none. */
  to: string | null;
  month: Month;
  threshold: ThresholdName;
  text: string;
  at: string;
}

export function lineMonthKey(lineId: string, month: Month): string {
  return `${lineId}:${month}`;
}

/** The line-document fields this part adds (optional: lines written before have none). */
export interface LineMonitoringFields {
  usagePending?: UsageCommit[];
  usageNotice?: UsageNotice | null;
  enforcement?: Enforcement | null;
}
