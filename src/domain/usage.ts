/**
 * recordUsage — adds a usage report to the counters of the Paris month of `occurredAt`.
 *
 * Check order: duplicate (usageId already recorded), UNKNOWN_LINE, TENANT_MISMATCH.
 * Usage of the current month (or later, for a clock slightly behind) is live: thresholds are
 * evaluated and crossings reported (the record's data state follows them). Usage of an earlier month only
 * updates that month's counters: the month is closed, nothing is acted on any more.
 * Bytes count against the envelope whatever the zone (France and Europe add up).
 */
import { parisMonth, type Instant } from './calendar.js';
import { InconsistentStateError, type ProductCatalog, type Service } from './catalog.js';
import { domainEvent, eventKeys, type DomainEvent, type DomainEventOf } from './events.js';
import type { Line } from './line.js';
import { openMonth, remainingBytes, usageView, type LineMonth } from './line-month.js';
import { evaluateThresholds } from './evaluate-thresholds.js';
import type { UsageReason } from './reasons.js';
import { startMonth } from './rollover.js';

export const USAGE_ZONES = ['FR', 'EU'] as const;
export type UsageZone = (typeof USAGE_ZONES)[number];

export interface RecordUsageCommand {
  usageId: string;
  clientAccountId: string;
  lineId: string;
  zone: UsageZone;
  bytes: number;
  costCents?: number;
  occurredAt: Instant;
}

export interface RecordUsageState {
  line: Line | null;
  /** The line's service. */
  service: Service | null;
  products: ProductCatalog;
  /** The line's latest month record at or before the month of `occurredAt`, `null` if none. */
  month: LineMonth | null;
  /** Usage ids already recorded for this line; only `command.usageId` matters. */
  recordedUsageIds: readonly string[];
}

export type RecordUsageResult =
  | { outcome: 'recorded'; month: LineMonth; events: DomainEvent[] }
  | { outcome: 'rejected'; reason: Exclude<UsageReason, 'INVALID_PAYLOAD'>; message: string }
  | { outcome: 'duplicate' };

export function recordUsage(command: RecordUsageCommand, state: RecordUsageState, now: Instant): RecordUsageResult {
  if (state.recordedUsageIds.includes(command.usageId)) return { outcome: 'duplicate' };
  const { line, service } = state;
  if (!line) return { outcome: 'rejected', reason: 'UNKNOWN_LINE', message: `line '${command.lineId}' does not exist` };
  if (!service || service.serviceRef !== line.serviceRef) {
    throw new InconsistentStateError(`service '${line.serviceRef}' of line '${line.lineId}' is not loaded`);
  }
  if (service.clientAccountId !== command.clientAccountId) {
    return { outcome: 'rejected', reason: 'TENANT_MISMATCH', message: `line '${line.lineId}' does not belong to client account '${command.clientAccountId}'` };
  }
  const month = parisMonth(command.occurredAt);
  const live = month >= parisMonth(now);
  const opened = monthRecord(state, line, service.clientAccountId, month, live);
  const counted = addUsage(opened.record, command);
  const evaluated = live ? evaluateThresholds(counted) : { record: counted, events: [] };
  const record = evaluated.record;
  const updated = usageUpdated(record, command.usageId);
  return { outcome: 'recorded', month: record, events: [...opened.events, updated, ...evaluated.events] };
}

/** `usage.updated` for a record, named by the last usage id counted in it. */
export function usageUpdated(record: LineMonth, usageId: string): DomainEventOf<'opensim.usage.updated'> {
  return domainEvent('opensim.usage.updated', eventKeys.usage(record.lineId, usageId), {
    lineId: record.lineId,
    clientAccountId: record.clientAccountId,
    month: record.month,
    usage: usageView(record),
    envelopeBytes: record.envelope.totalBytes,
    remainingBytes: remainingBytes(record),
    dataState: record.dataState,
  });
}

function addUsage(record: LineMonth, command: RecordUsageCommand): LineMonth {
  const { usage } = record;
  return {
    ...record,
    usage: {
      frBytes: usage.frBytes + (command.zone === 'FR' ? command.bytes : 0),
      euBytes: usage.euBytes + (command.zone === 'EU' ? command.bytes : 0),
      spendCents: usage.spendCents + (command.costCents ?? 0),
    },
  };
}

/** The usage month's record: the loaded one, a new live month (with its events), or a closed month opened quietly. */
function monthRecord(state: RecordUsageState, line: Line, clientAccountId: string, month: string, live: boolean): { record: LineMonth; events: DomainEvent[] } {
  const loaded = state.month;
  if (loaded && loaded.month === month) return { record: loaded, events: [] };
  if (loaded && loaded.month > month) {
    throw new InconsistentStateError(`month record ${loaded.month} of line '${line.lineId}' is after the usage month ${month}`);
  }
  if (live) return startMonth({ line, clientAccountId, products: state.products, month: loaded }, month);
  return { record: openMonth({ lineId: line.lineId, clientAccountId, planHistory: line.planHistory, products: state.products }, month), events: [] };
}
