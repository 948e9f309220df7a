/**
 * decideAlert — what a threshold-alert consumer does about one monitoring event of a line:
 * warn the line's user, and enforce the data state the rules decided (throttle at REDUCTION,
 * block at BLOCK and COST_CAP, lift when a plan change or a new month says so).
 *
 * Who announces what: the month record's `dataState` is the rules' decision, carried in
 * `usage.updated` and `envelope.recomputed`. The enforcement (what the network is told) is
 * this consumer's, and so is `line.data-state.changed`: it is published once, when the
 * enforced state changes, never by the decisions that crossed the threshold.
 *
 * Rules, with `record` the line's current month record as stored now:
 * - an event of another month than the record's is stale (the month is closed, or its
 *   record replaced): nothing is done, nobody is warned;
 * - the enforced state starts every month at `normal` (an enforcement of an earlier month
 *   does not carry over);
 * - a crossing tightens to what its threshold calls for (REDUCTION → reduced, BLOCK and
 *   COST_CAP → blocked), never beyond what the record decides now (a crossing lifted since
 *   by an upgrade enforces nothing), never loosening;
 * - `envelope.recomputed` (a plan change, a new month) loosens to what the record decides,
 *   never tightening (the crossings it may come with do that);
 * - an event already acted on (its id in `actedOn`) changes nothing: acting twice on one
 *   crossing is impossible. The notification is still returned: delivering it is idempotent
 *   by its id, so a crash between the enforcement and the warning loses neither.
 * Level, not edge: the target is computed from the record, so events redelivered or taken in
 * another order converge on the same state.
 */
import { normaliseInstant, type Instant, type Month } from './calendar.js';
import { domainEvent, eventKeys, type DataStateReason, type DomainEventOf, type EnvelopeRecomputedData, type ThresholdCrossedData } from './events.js';
import type { LineMonth } from './line-month.js';
import { DATA_STATE_SEVERITY, unreachable, type DataState, type ThresholdName } from './thresholds.js';
import { warningText } from './warning-text.js';

/** Event ids acted on, kept per line: enough to cover redeliveries, level-triggering covers the rest. */
export const ACTED_ON_KEPT = 50;

export interface Enforcement {
  month: Month;
  state: DataState;
  reason: DataStateReason;
  since: Instant;
  /** Ids of the events acted on, newest last (bounded). */
  actedOn: string[];
}

export type AlertTrigger =
  | { id: string; type: 'opensim.threshold.crossed'; data: ThresholdCrossedData }
  | { id: string; type: 'opensim.envelope.recomputed'; data: EnvelopeRecomputedData };

export interface AlertState {
  /** The line's current month record, `null` if it has none. */
  record: LineMonth | null;
  enforcement: Enforcement | null;
}

/** A warning for the line's user; `id` is the crossing event's id, so it is delivered once. */
export type Warning = ThresholdCrossedData & { id: string; text: string };

export type AlertDecision =
  | { outcome: 'stale' }
  | {
      outcome: 'decided';
      warning: Warning | null;
      /** The enforcement to store, `null` when it stays as it is (or the event was acted on already). */
      enforcement: Enforcement | null;
      /** `line.data-state.changed` when the enforced state changes. */
      events: DomainEventOf<'opensim.line.data-state.changed'>[];
    };

const TIGHTENS_TO: Record<ThresholdName, DataState> = { ENVELOPE_80: 'normal', ENVELOPE_100: 'normal', REDUCTION: 'reduced', BLOCK: 'blocked', COST_CAP: 'blocked' };

export function decideAlert(trigger: AlertTrigger, state: AlertState, now: Instant): AlertDecision {
  const { record, enforcement } = state;
  if (!record || trigger.data.month !== record.month || trigger.data.lineId !== record.lineId) return { outcome: 'stale' };
  const warning = trigger.type === 'opensim.threshold.crossed' ? warningOf(trigger.id, trigger.data, record) : null;
  if (enforcement?.actedOn.includes(trigger.id)) return { outcome: 'decided', warning, enforcement: null, events: [] };

  const actual = enforcement?.state ?? 'normal';
  const base = enforcement?.month === record.month ? actual : 'normal';
  const target = targetOf(trigger, base, record.dataState);
  if (target === actual) return { outcome: 'decided', warning, enforcement: null, events: [] };

  const reason = reasonOf(trigger, actual, target);
  const next: Enforcement = {
    month: record.month,
    state: target,
    reason,
    since: normaliseInstant(now),
    actedOn: [...(enforcement?.actedOn ?? []), trigger.id].slice(-ACTED_ON_KEPT),
  };
  const changed = domainEvent('opensim.line.data-state.changed', eventKeys.dataState(record.lineId, record.month, `alert:${trigger.id}`), {
    lineId: record.lineId,
    clientAccountId: record.clientAccountId,
    month: record.month,
    from: actual,
    to: target,
    reason,
  });
  return { outcome: 'decided', warning, enforcement: next, events: [changed] };
}

function targetOf(trigger: AlertTrigger, base: DataState, decided: DataState): DataState {
  switch (trigger.type) {
    case 'opensim.threshold.crossed':
      return max(base, min(TIGHTENS_TO[trigger.data.threshold], decided));
    case 'opensim.envelope.recomputed':
      return min(base, decided);
    default:
      return unreachable(trigger);
  }
}

/** The threshold that tightened, or what loosened: a plan change, else the new month. */
function reasonOf(trigger: AlertTrigger, from: DataState, to: DataState): DataStateReason {
  if (DATA_STATE_SEVERITY[to] > DATA_STATE_SEVERITY[from]) {
    // Only a crossing tightens (targetOf), and only REDUCTION, BLOCK and COST_CAP tighten.
    return (trigger.data as ThresholdCrossedData).threshold as DataStateReason;
  }
  return trigger.type === 'opensim.envelope.recomputed' && trigger.data.cause === 'plan-change' ? 'PLAN_CHANGE' : 'MONTH_START';
}

function warningOf(id: string, crossing: ThresholdCrossedData, record: LineMonth): Warning {
  return {
    id,
    lineId: crossing.lineId,
    clientAccountId: crossing.clientAccountId,
    month: crossing.month,
    threshold: crossing.threshold,
    limit: crossing.limit,
    value: crossing.value,
    text: warningText(crossing, record),
  };
}

function max(a: DataState, b: DataState): DataState {
  return DATA_STATE_SEVERITY[a] >= DATA_STATE_SEVERITY[b] ? a : b;
}

function min(a: DataState, b: DataState): DataState {
  return DATA_STATE_SEVERITY[a] <= DATA_STATE_SEVERITY[b] ? a : b;
}
