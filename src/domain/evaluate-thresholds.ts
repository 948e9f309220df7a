/**
 * Threshold evaluation after usage or a plan change.
 *
 * A threshold is reported when it goes from not crossed to crossed, so each crossing is reported
 * once per line, month and threshold. Usage only grows within a month, so only a plan change can
 * lift a crossed threshold (an upgrade raises the limit above the usage): the threshold then
 * leaves the crossed set, and if usage reaches the new limit later in the month that is a new
 * crossing, reported again with the next occurrence number.
 *
 * The record's data state follows the crossed set: blocked (BLOCK, COST_CAP), reduced
 * (REDUCTION), normal. It is the state the rules *decide*; it is not announced here. The
 * threshold-alert consumer enforces it and is the one publisher of `line.data-state.changed`
 * (see enforcement.ts), so one change of state is announced once.
 */
import { domainEvent, eventKeys, type DomainEvent } from './events.js';
import type { LineMonth } from './line-month.js';
import { THRESHOLD_NAMES, dataStateOf, isCrossed, limitOf, valueOf } from './thresholds.js';

/** Re-evaluates every threshold of the record; returns the new record and its crossings. */
export function evaluateThresholds(record: LineMonth): { record: LineMonth; events: DomainEvent[] } {
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
  return { record: { ...record, crossed, crossingCounts, dataState: dataStateOf(crossed) }, events };
}
