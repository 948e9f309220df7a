/**
 * changePlan — "Changer la ressource": moves a line to an available resource of its service.
 *
 * Check order, when several rules fail the first one below is reported:
 *   0. duplicate             the requestId was already decided: nothing changes, no new event
 *   1. UNKNOWN_LINE          no such line
 *   2. TENANT_MISMATCH       the line's service, or the service named by the request, belongs to
 *                            another client account
 *   3. UNKNOWN_LINE          the line is the account's but not in the service named by the request
 *   4. LINE_NOT_ACTIVE       the line is suspended or terminated
 *   5. UNKNOWN_RESOURCE      no such target resource
 *   6. TARGET_NOT_AVAILABLE  the target is not `available` (this includes the line's own active
 *                            resource) or belongs to another service
 *   7. SAME_PLAN             the target's product is the line's current product
 *   8. CATEGORY_MISMATCH     the target's product is of another category
 *   9. STALE_REQUEST         requestedAt is older than the last applied change's requestedAt
 * Why this order: who is asking and about what (line, tenant) comes first, so an account never
 * learns more about another account's line than "not yours"; then the line's own state; then the
 * target (exists, usable); then whether the move itself is allowed; staleness last, because it
 * depends only on timing: a request that is wrong in substance reports the substantive reason,
 * which retrying or reordering cannot fix. SAME_PLAN and CATEGORY_MISMATCH never both fail (one
 * product has one category). Equal `requestedAt` is not stale.
 *
 * When applied, the change takes effect at `now` (clamped to the last history entry, so a worker
 * with a late clock cannot reorder the history): the target becomes `active`, the previous
 * resource `available`, the history gains an entry, the month's envelope and thresholds are
 * recomputed and re-evaluated against usage already consumed.
 */
import { compareInstants, normaliseInstant, parisMonth, toEpochMs, type Instant } from './calendar.js';
import { InconsistentStateError, productOf, type Category, type ProductCatalog, type Resource, type Service } from './catalog.js';
import { domainEvent, eventKeys, planChangeRejected, type DomainEvent } from './events.js';
import type { Line } from './line.js';
import { envelopeRecomputedData, replan, type LineMonth } from './line-month.js';
import { evaluateThresholds } from './monitoring.js';
import type { PlanChangeReason } from './reasons.js';
import { startMonth } from './rollover.js';
import { overageExposureBytes, usedBytes } from './thresholds.js';

export interface ChangePlanCommand {
  requestId: string;
  clientAccountId: string;
  serviceRef: string;
  lineId: string;
  targetResourceId: string;
  requestedAt: Instant;
  requestedBy?: string;
}

/** Everything the decision needs, loaded by the adapter. */
export interface ChangePlanState {
  line: Line | null;
  /** At least the line's service and the service named by the request, when they exist. */
  services: Readonly<Record<string, Service>>;
  /** The line's active resource. */
  currentResource: Resource | null;
  targetResource: Resource | null;
  products: ProductCatalog;
  /** The line's latest month record at or before the month of `now`, `null` if none. */
  month: LineMonth | null;
  /** Request ids already decided (applied or rejected) for this line; only `command.requestId` matters. */
  decidedRequestIds: readonly string[];
}

export type ChangePlanResult =
  | { outcome: 'applied'; line: Line; resources: [target: Resource, previous: Resource]; month: LineMonth; events: DomainEvent[] }
  | { outcome: 'rejected'; reason: Exclude<PlanChangeReason, 'INVALID_PAYLOAD'>; message: string; events: DomainEvent[] }
  | { outcome: 'duplicate' };

type Rejected = Extract<ChangePlanResult, { outcome: 'rejected' }>;

export function changePlan(command: ChangePlanCommand, state: ChangePlanState, now: Instant): ChangePlanResult {
  if (state.decidedRequestIds.includes(command.requestId)) return { outcome: 'duplicate' };
  const { line, targetResource: target } = state;
  if (!line) return reject(command, null, 'UNKNOWN_LINE', `line '${command.lineId}' does not exist`);
  const lineService = state.services[line.serviceRef];
  if (!lineService) throw new InconsistentStateError(`service '${line.serviceRef}' of line '${line.lineId}' is not loaded`);
  const requestService = state.services[command.serviceRef];
  if (lineService.clientAccountId !== command.clientAccountId) {
    return reject(command, line.lineId, 'TENANT_MISMATCH', `line '${line.lineId}' does not belong to client account '${command.clientAccountId}'`);
  }
  if (requestService && requestService.clientAccountId !== command.clientAccountId) {
    return reject(command, line.lineId, 'TENANT_MISMATCH', `service '${command.serviceRef}' does not belong to client account '${command.clientAccountId}'`);
  }
  if (line.serviceRef !== command.serviceRef) {
    return reject(command, null, 'UNKNOWN_LINE', `line '${line.lineId}' is not a line of service '${command.serviceRef}'`);
  }
  if (line.state !== 'active') return reject(command, line.lineId, 'LINE_NOT_ACTIVE', `line '${line.lineId}' is ${line.state}`);
  if (!target) return reject(command, line.lineId, 'UNKNOWN_RESOURCE', `resource '${command.targetResourceId}' does not exist`);
  if (target.serviceRef !== line.serviceRef) {
    return reject(command, line.lineId, 'TARGET_NOT_AVAILABLE', `resource '${target.resourceId}' is not a resource of service '${line.serviceRef}'`);
  }
  if (target.state !== 'available') {
    const detail = target.resourceId === line.activeResourceId ? 'is already the active plan of this line' : 'is active on another line';
    return reject(command, line.lineId, 'TARGET_NOT_AVAILABLE', `resource '${target.resourceId}' ${detail}; order the plan first`);
  }
  const current = state.currentResource;
  if (!current || current.resourceId !== line.activeResourceId) {
    throw new InconsistentStateError(`active resource '${line.activeResourceId}' of line '${line.lineId}' is not loaded`);
  }
  const from = productOf(state.products, current.productRef);
  const to = productOf(state.products, target.productRef);
  if (to.productRef === from.productRef) {
    return reject(command, line.lineId, 'SAME_PLAN', `line '${line.lineId}' is already on product '${from.productRef}'`);
  }
  if (to.category !== from.category) {
    return reject(command, line.lineId, 'CATEGORY_MISMATCH', `product '${to.productRef}' is ${to.category}, line '${line.lineId}' is on ${from.category} ('${from.productRef}'); a line never changes category`);
  }
  if (line.lastAppliedRequestedAt !== null && compareInstants(command.requestedAt, line.lastAppliedRequestedAt) < 0) {
    return reject(command, line.lineId, 'STALE_REQUEST', `requested at ${command.requestedAt}, before the last applied change (requested at ${line.lastAppliedRequestedAt})`);
  }
  return apply(command, { ...state, line, lineService, current, target, category: to.category }, now);
}

function reject(command: ChangePlanCommand, lineId: string | null, reason: Rejected['reason'], message: string): Rejected {
  const event = planChangeRejected({ requestId: command.requestId, clientAccountId: command.clientAccountId, lineId, reason, message });
  return { outcome: 'rejected', reason, message, events: [event] };
}

interface Checked {
  line: Line;
  lineService: Service;
  current: Resource;
  target: Resource;
  category: Category;
  products: ProductCatalog;
  month: LineMonth | null;
}

function apply(command: ChangePlanCommand, checked: Checked, now: Instant): ChangePlanResult {
  const { line, current, target, products } = checked;
  const clientAccountId = checked.lineService.clientAccountId;
  const appliedAt = effectiveInstant(line, now);
  const month = parisMonth(appliedAt);
  const opened = currentMonthRecord(checked, clientAccountId, month);

  const planHistory = [...line.planHistory, { resourceId: target.resourceId, productRef: target.productRef, effectiveAt: appliedAt, requestId: command.requestId }];
  const changedLine: Line = { ...line, activeResourceId: target.resourceId, planHistory, lastAppliedRequestedAt: normaliseInstant(command.requestedAt) };
  const replanned = replan(opened.record, { lineId: line.lineId, clientAccountId, planHistory, products });
  const evaluated = evaluateThresholds(replanned);
  const record = evaluated.record;

  const applied = domainEvent('opensim.plan-change.applied', eventKeys.planChange(command.requestId, 'applied'), {
    requestId: command.requestId,
    clientAccountId,
    serviceRef: line.serviceRef,
    lineId: line.lineId,
    category: checked.category,
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

/** The record of the change's month: the loaded one, or a new month opened from the latest one. */
function currentMonthRecord(checked: Checked, clientAccountId: string, month: string): { record: LineMonth; events: DomainEvent[] } {
  const loaded = checked.month;
  if (loaded && loaded.month === month) return { record: loaded, events: [] };
  if (loaded && loaded.month > month) {
    throw new InconsistentStateError(`month record ${loaded.month} of line '${checked.line.lineId}' is after the change's month ${month}`);
  }
  return startMonth({ line: checked.line, clientAccountId, products: checked.products, month: loaded }, month);
}
