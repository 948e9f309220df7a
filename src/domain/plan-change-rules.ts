/**
 * The rules of a plan change against the state, in the order of change-plan.ts (checks 2 to 11).
 * One function for every decision that needs them: a new request (`changePlan`), a scheduled
 * change that fell due (`applyScheduledChange`), and through them the preview.
 */
import { compareInstants } from './calendar.js';
import { InconsistentStateError, productOf, type Product, type ProductCatalog, type Resource, type Service } from './catalog.js';
import type { ChangePlanCommand, ChangePlanState } from './plan-change-command.js';
import type { Line } from './line.js';
import type { LineMonth } from './line-month.js';
import type { PlanChangeRuleReason } from './reasons.js';

/** Everything the rules found, for the decision that follows. */
export interface Checked {
  line: Line;
  lineService: Service;
  current: Resource;
  target: Resource;
  from: Product;
  to: Product;
  products: ProductCatalog;
  month: LineMonth | null;
}

export interface RuleRefusal {
  reason: PlanChangeRuleReason;
  /** The line named in the rejection: `null` when the asker may not know it exists in that service. */
  lineId: string | null;
  message: string;
}

/**
 * Checks the rules in order; the first that fails is the answer. `dueRequestId` is the request
 * whose scheduled change is being applied: its own pending change and its reserved target are
 * its, not an obstacle. A new request passes `null`.
 */
export function checkRules(command: ChangePlanCommand, state: ChangePlanState, dueRequestId: string | null): Checked | RuleRefusal {
  const { line, targetResource: target } = state;
  if (!line) return refuse('UNKNOWN_LINE', null, `line '${command.lineId}' does not exist`);
  const lineService = state.services[line.serviceRef];
  if (!lineService) throw new InconsistentStateError(`service '${line.serviceRef}' of line '${line.lineId}' is not loaded`);
  const requestService = state.services[command.serviceRef];
  if (lineService.clientAccountId !== command.clientAccountId) {
    return refuse('TENANT_MISMATCH', line.lineId, `line '${line.lineId}' does not belong to client account '${command.clientAccountId}'`);
  }
  if (requestService && requestService.clientAccountId !== command.clientAccountId) {
    return refuse('TENANT_MISMATCH', line.lineId, `service '${command.serviceRef}' does not belong to client account '${command.clientAccountId}'`);
  }
  if (line.serviceRef !== command.serviceRef) {
    return refuse('UNKNOWN_LINE', null, `line '${line.lineId}' is not a line of service '${command.serviceRef}'`);
  }
  if (line.state !== 'active') return refuse('LINE_NOT_ACTIVE', line.lineId, `line '${line.lineId}' is ${line.state}`);
  const pending = line.scheduledChange;
  if (pending && pending.requestId !== dueRequestId) {
    return refuse('CHANGE_ALREADY_SCHEDULED', line.lineId, `line '${line.lineId}' has change '${pending.requestId}' scheduled for ${pending.effectiveAt}; cancel it first`);
  }
  if (!target) return refuse('UNKNOWN_RESOURCE', line.lineId, `resource '${command.targetResourceId}' does not exist`);
  if (target.serviceRef !== line.serviceRef) {
    return refuse('TARGET_NOT_AVAILABLE', line.lineId, `resource '${target.resourceId}' is not a resource of service '${line.serviceRef}'`);
  }
  // The due change's own target is reserved for it, whatever state the loader read for it.
  const ownReservation = pending !== undefined && pending.to.resourceId === target.resourceId;
  if (target.state !== 'available' && !ownReservation) {
    return refuse('TARGET_NOT_AVAILABLE', line.lineId, `resource '${target.resourceId}' ${unavailability(line, target)}; order the plan first`);
  }
  const current = state.currentResource;
  if (!current || current.resourceId !== line.activeResourceId) {
    throw new InconsistentStateError(`active resource '${line.activeResourceId}' of line '${line.lineId}' is not loaded`);
  }
  const from = productOf(state.products, current.productRef);
  const to = productOf(state.products, target.productRef);
  if (to.productRef === from.productRef) {
    return refuse('SAME_PLAN', line.lineId, `line '${line.lineId}' is already on product '${from.productRef}'`);
  }
  if (to.category !== from.category) {
    return refuse('CATEGORY_MISMATCH', line.lineId, `product '${to.productRef}' is ${to.category}, line '${line.lineId}' is on ${from.category} ('${from.productRef}'); a line never changes category`);
  }
  if (line.lastAppliedRequestedAt !== null && compareInstants(command.requestedAt, line.lastAppliedRequestedAt) < 0) {
    return refuse('STALE_REQUEST', line.lineId, `requested at ${command.requestedAt}, before the last applied change (requested at ${line.lastAppliedRequestedAt})`);
  }
  return { line, lineService, current, target, from, to, products: state.products, month: state.month };
}

export function isRefusal(checked: Checked | RuleRefusal): checked is RuleRefusal {
  return 'reason' in checked;
}

function refuse(reason: PlanChangeRuleReason, lineId: string | null, message: string): RuleRefusal {
  return { reason, lineId, message };
}

function unavailability(line: Line, target: Resource): string {
  if (target.resourceId === line.activeResourceId) return 'is already the active plan of this line';
  return target.state === 'reserved' ? 'is reserved for a change scheduled on another line' : 'is active on another line';
}
