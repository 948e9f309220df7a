/**
 * changePlan — "Changer la ressource": moves a line to an available resource of its service, at
 * once or at a future `effectiveAt` (a scheduled change).
 *
 * Check order, when several rules fail the first one below is reported:
 *   0. duplicate                 the requestId was already decided: nothing changes, no new event
 *   1. INVALID_EFFECTIVE_DATE    effectiveAt is more than 400 days after now (the payload alone)
 *   2. UNKNOWN_LINE              no such line
 *   3. TENANT_MISMATCH           the line's service, or the service named by the request, belongs
 *                                to another client account
 *   4. UNKNOWN_LINE              the line is the account's but not in the service named by the request
 *   5. LINE_NOT_ACTIVE           the line is suspended or terminated
 *   6. CHANGE_ALREADY_SCHEDULED  the line has a scheduled change pending (cancel it first)
 *   7. UNKNOWN_RESOURCE          no such target resource
 *   8. TARGET_NOT_AVAILABLE      the target is not `available` (this includes the line's own active
 *                                resource and a resource reserved for another line) or belongs to
 *                                another service
 *   9. SAME_PLAN                 the target's product is the line's current product
 *  10. CATEGORY_MISMATCH         the target's product is of another category
 *  11. STALE_REQUEST             requestedAt is older than the last applied change's requestedAt
 * Why this order: the payload's own fault first, before any state is looked at (the duplicate
 * check is idempotence, not a rule: a request decided once is never decided again); then who is
 * asking and about what (line, tenant), so an account never learns more about another account's
 * line than "not yours"; then the line's own state, a pending change included (upstream must
 * cancel it first, whatever the target); then the target (exists, usable); then whether the move
 * itself is allowed; staleness last, because it depends only on timing: a request that is wrong
 * in substance reports the substantive reason, which retrying or reordering cannot fix. SAME_PLAN
 * and CATEGORY_MISMATCH never both fail (one product has one category). Equal `requestedAt` is
 * not stale.
 *
 * Applied (no `effectiveAt`, or one at or before `now`): the change takes effect at `now`
 * (clamped to the last history entry, so a worker with a late clock cannot reorder the history):
 * the target becomes `active`, the previous resource `available`, the history gains an entry, the
 * month's envelope and thresholds are recomputed and re-evaluated against usage already consumed.
 *
 * Scheduled (`effectiveAt` after `now`, every rule passing now): the line gains a
 * `scheduledChange`, its target becomes `reserved` for the line, and `plan-change.scheduled` is
 * emitted; nothing else changes until `applyScheduledChange` decides it again when it falls due.
 */
import { normaliseInstant, parisMonth, toEpochMs, type Instant } from './calendar.js';
import { InconsistentStateError, type Resource } from './catalog.js';
import { domainEvent, eventKeys, planChangeRejected, type DomainEvent } from './events.js';
import type { Line, ScheduledChange } from './line.js';
import { envelopeRecomputedData, replan, type LineMonth } from './line-month.js';
import { evaluateThresholds } from './evaluate-thresholds.js';
import { checkRules, isRefusal, type Checked } from './plan-change-rules.js';
import type { ChangePlanCommand, ChangePlanState } from './plan-change-command.js';
import type { PlanChangeRuleReason } from './reasons.js';
import { startMonth } from './rollover.js';
import { timingOf, withoutScheduledChange } from './scheduled-change.js';
import { overageExposureBytes, usedBytes } from './thresholds.js';

export type { ChangePlanCommand, ChangePlanState } from './plan-change-command.js';

/** The change took effect: what the adapter commits (line, month) and projects (resources). */
export type Applied = { outcome: 'applied'; line: Line; resources: [target: Resource, previous: Resource]; month: LineMonth; events: DomainEvent[] };
export type Rejected = { outcome: 'rejected'; reason: PlanChangeRuleReason; message: string; events: DomainEvent[] };

export type ChangePlanResult =
  | Applied
  /** The line with its `scheduledChange`; the target `reserved`; the month record as loaded (nothing else changes). */
  | { outcome: 'scheduled'; line: Line; resources: [target: Resource]; month: LineMonth | null; events: DomainEvent[] }
  | Rejected
  | { outcome: 'duplicate' };

export function changePlan(command: ChangePlanCommand, state: ChangePlanState, now: Instant): ChangePlanResult {
  if (state.decidedRequestIds.includes(command.requestId)) return { outcome: 'duplicate' };
  const timing = timingOf(command.effectiveAt, now);
  // Judged on the payload alone, before any state: the line named is the request's.
  if (timing.kind === 'invalid') return rejection(command, command.lineId, 'INVALID_EFFECTIVE_DATE', timing.message);
  const checked = checkRules(command, state, null);
  if (isRefusal(checked)) return rejection(command, checked.lineId, checked.reason, checked.message);
  return timing.kind === 'scheduled' ? schedule(command, checked, timing.effectiveAt, now) : applyChecked(command, checked, now);
}

/** A `rejected` outcome with its `plan-change.rejected` event. */
export function rejection(command: Pick<ChangePlanCommand, 'requestId' | 'clientAccountId'>, lineId: string | null, reason: PlanChangeRuleReason, message: string): Rejected {
  const event = planChangeRejected({ requestId: command.requestId, clientAccountId: command.clientAccountId, lineId, reason, message });
  return { outcome: 'rejected', reason, message, events: [event] };
}

function schedule(command: ChangePlanCommand, checked: Checked, effectiveAt: Instant, now: Instant): ChangePlanResult {
  const { line, current, target } = checked;
  const to = { resourceId: target.resourceId, productRef: target.productRef };
  const scheduledChange: ScheduledChange = {
    requestId: command.requestId,
    clientAccountId: command.clientAccountId,
    serviceRef: command.serviceRef,
    to,
    effectiveAt,
    requestedAt: command.requestedAt,
    ...(command.requestedBy === undefined ? {} : { requestedBy: command.requestedBy }),
    scheduledAt: normaliseInstant(now),
  };
  const scheduled = domainEvent('opensim.plan-change.scheduled', eventKeys.planChange(command.requestId, 'scheduled'), {
    requestId: command.requestId,
    clientAccountId: checked.lineService.clientAccountId,
    serviceRef: line.serviceRef,
    lineId: line.lineId,
    category: checked.to.category,
    from: { resourceId: current.resourceId, productRef: current.productRef },
    to,
    requestedAt: command.requestedAt,
    effectiveAt,
  });
  return { outcome: 'scheduled', line: { ...line, scheduledChange }, resources: [{ ...target, state: 'reserved' }], month: checked.month, events: [scheduled] };
}

/**
 * The change applied at `now`, after every rule passed: the same for a new request and for a
 * scheduled change that fell due (its `scheduledChange` leaves the line with it).
 */
export function applyChecked(command: ChangePlanCommand, checked: Checked, now: Instant): Applied {
  const { line, current, target, products } = checked;
  const clientAccountId = checked.lineService.clientAccountId;
  const appliedAt = effectiveInstant(line, now);
  const month = parisMonth(appliedAt);
  const opened = currentMonthRecord(checked, clientAccountId, month);

  const planHistory = [...line.planHistory, { resourceId: target.resourceId, productRef: target.productRef, effectiveAt: appliedAt, requestId: command.requestId }];
  const changedLine: Line = { ...withoutScheduledChange(line), activeResourceId: target.resourceId, planHistory, lastAppliedRequestedAt: normaliseInstant(command.requestedAt) };
  const replanned = replan(opened.record, { lineId: line.lineId, clientAccountId, planHistory, products });
  const evaluated = evaluateThresholds(replanned);
  const record = evaluated.record;

  const applied = domainEvent('opensim.plan-change.applied', eventKeys.planChange(command.requestId, 'applied'), {
    requestId: command.requestId,
    clientAccountId,
    serviceRef: line.serviceRef,
    lineId: line.lineId,
    category: checked.to.category,
    from: { resourceId: current.resourceId, productRef: current.productRef },
    to: { resourceId: target.resourceId, productRef: target.productRef },
    requestedAt: command.requestedAt,
    appliedAt,
    envelope: record.envelope,
    thresholds: record.thresholds,
    usage: { usedBytes: usedBytes(record.usage) },
    overageExposureBytes: overageExposureBytes(record.envelope, record.thresholds),
  });
  const recomputed = domainEvent(
    'opensim.envelope.recomputed',
    eventKeys.envelope(line.lineId, month, `plan-change:${command.requestId}`),
    envelopeRecomputedData(record, 'plan-change'),
  );
  return {
    outcome: 'applied',
    line: changedLine,
    resources: [{ ...target, state: 'active' }, { ...current, state: 'available' }],
    month: record,
    events: [...opened.events, applied, recomputed, ...evaluated.events],
  };
}

/** `now`, or the last history instant if `now` is before it (clock skew between workers). */
function effectiveInstant(line: Line, now: Instant): Instant {
  const last = line.planHistory.at(-1)?.effectiveAt;
  const at = last !== undefined && toEpochMs(last) > toEpochMs(now) ? last : now;
  return normaliseInstant(at);
}

/**
 * The record of the change's month: the loaded one, or a new month opened from the latest one
 * (with its month-start events). So a change that falls due at 00:00 Paris on the 1st, before
 * the rollover reached the line, opens the month first: the new plan then owns all of it.
 */
function currentMonthRecord(checked: Checked, clientAccountId: string, month: string): { record: LineMonth; events: DomainEvent[] } {
  const loaded = checked.month;
  if (loaded && loaded.month === month) return { record: loaded, events: [] };
  if (loaded && loaded.month > month) {
    throw new InconsistentStateError(`month record ${loaded.month} of line '${checked.line.lineId}' is after the change's month ${month}`);
  }
  return startMonth({ line: checked.line, clientAccountId, products: checked.products, month: loaded }, month);
}
