/**
 * Threshold evaluation after usage or a plan change.
 *
 * A threshold is reported when it goes from not crossed to crossed, so each crossing is reported
 * once per line, month and threshold. Usage only grows within a month, so only a plan change can
 * lift a crossed threshold (an upgrade raises the limit above the usage): the threshold then
 * leaves the crossed set, the data state is restored, and if usage reaches the new limit later
 * in the month that is a new crossing, reported again with the next occurrence number.
 * The data state follows the crossed set: blocked (BLOCK, COST_CAP), reduced (REDUCTION), normal.
 */
import { domainEvent, eventKeys, type DataStateReason, type DomainEvent } from './events.js';
import type { LineMonth } from './line-month.js';
import { DATA_STATE_SEVERITY, THRESHOLD_NAMES, dataStateOf, isCrossed, limitOf, valueOf, type DataState, type ThresholdName } from './thresholds.js';

/** What triggered an evaluation: names the data-state event key and a loosening's reason. */
export type EvaluationCause = { kind: 'usage'; usageId: string } | { kind: 'plan-change'; requestId: string };

export function causeKey(cause: EvaluationCause): string {
  switch (cause.kind) {
    case 'usage':
      return `usage:${cause.usageId}`;
    case 'plan-change':
      return `plan-change:${cause.requestId}`;
    default:
      return unreachableCause(cause);
  }
}

function unreachableCause(cause: never): never {
  throw new Error(`unhandled cause: ${JSON.stringify(cause)}`);
}

/** Re-evaluates every threshold of the record; returns the new record and the events it causes. */
export function evaluateThresholds(record: LineMonth, cause: EvaluationCause): { record: LineMonth; events: DomainEvent[] } {
  const events: DomainEvent[] = [];
  const crossingCounts = { ...record.crossingCounts };
  const crossed = THRESHOLD_NAMES.filter((name) => isCrossed(name, record.envelope, record.thresholds, record.usage));
  for (const name of crossed.filter((n) => !record.crossed.includes(n))) {
    crossingCounts[name] += 1;
    events.push(
      domainEvent('opensim.threshold.crossed', eventKeys.threshold(record.lineId, record.month, name, crossingCounts[name]), {
        lineId: record.lineId,
        clientAccountId: record.clientAccountId,
        month: record.month,
        threshold: name,
        limit: limitOf(name, record.envelope, record.thresholds) as number,
        value: valueOf(name, record.usage),
      }),
    );
  }
  const dataState = dataStateOf(crossed);
  if (dataState !== record.dataState) {
    events.push(
      domainEvent('opensim.line.data-state.changed', eventKeys.dataState(record.lineId, record.month, causeKey(cause)), {
        lineId: record.lineId,
        clientAccountId: record.clientAccountId,
        month: record.month,
        from: record.dataState,
        to: dataState,
        reason: dataStateReason(record.dataState, dataState, crossed),
      }),
    );
  }
  return { record: { ...record, crossed, crossingCounts, dataState }, events };
}

function dataStateReason(from: DataState, to: DataState, crossed: readonly ThresholdName[]): DataStateReason {
  if (DATA_STATE_SEVERITY[to] < DATA_STATE_SEVERITY[from]) return 'PLAN_CHANGE';
  if (to === 'reduced') return 'REDUCTION';
  return crossed.includes('BLOCK') ? 'BLOCK' : 'COST_CAP';
}
