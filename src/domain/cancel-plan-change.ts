/**
 * cancelPlanChange — upstream cancels a scheduled change before it is applied
 * (`opensim.cmd.plan-change-cancel.<clientAccountId>`).
 *
 * Check order:
 *   0. duplicate        the cancelId was already decided: nothing changes, no new event
 *   1. NOT_SCHEDULED    no line is known for the request (never taken in, or unknown)
 *   2. TENANT_MISMATCH  the request's line belongs to another client account
 *   3. NOT_SCHEDULED    the line has no pending change of that request (it was applied, rejected
 *                       or cancelled, or was never scheduled)
 * The tenant check needs the line, so an unknown request is NOT_SCHEDULED; a known request of
 * another account is only "not yours", never what became of it.
 *
 * Applied: the scheduled change leaves the line, its target is released (`available`), and two
 * events: `plan-change-cancel.applied` (the cancel's outcome) and `plan-change.cancelled` (the
 * final outcome of the scheduled request). The adapter commits it with the line's guarded write,
 * the same as the application when due, so exactly one of the two wins.
 */
import { normaliseInstant, type Instant } from './calendar.js';
import { InconsistentStateError, type Service } from './catalog.js';
import { domainEvent, eventKeys, planChangeCancelRejected, type DomainEvent, type PlanRef } from './events.js';
import type { Line } from './line.js';
import type { PlanChangeCancelReason } from './reasons.js';
import { withoutScheduledChange } from './scheduled-change.js';

export interface CancelPlanChangeCommand {
  cancelId: string;
  clientAccountId: string;
  /** The scheduled request to cancel. */
  requestId: string;
  requestedAt: Instant;
}

export interface CancelPlanChangeState {
  /** The line the request is about: the one with its scheduled change, else the one it was decided on; `null` if none is known. */
  line: Line | null;
  /** The line's service (its client account). */
  service: Service | null;
  /** Cancel ids already decided; only `command.cancelId` matters. */
  decidedCancelIds: readonly string[];
}

export type CancelPlanChangeResult =
  /** The line without its scheduled change; `released` the resource that was reserved, `available` again. */
  | { outcome: 'applied'; line: Line; released: PlanRef; events: DomainEvent[] }
  | { outcome: 'rejected'; reason: Exclude<PlanChangeCancelReason, 'INVALID_PAYLOAD'>; message: string; events: DomainEvent[] }
  | { outcome: 'duplicate' };

type Rejected = Extract<CancelPlanChangeResult, { outcome: 'rejected' }>;

export function cancelPlanChange(command: CancelPlanChangeCommand, state: CancelPlanChangeState, now: Instant): CancelPlanChangeResult {
  if (state.decidedCancelIds.includes(command.cancelId)) return { outcome: 'duplicate' };
  const { line, service } = state;
  if (!line) return reject(command, 'NOT_SCHEDULED', `request '${command.requestId}' is not scheduled`);
  if (!service || service.serviceRef !== line.serviceRef) throw new InconsistentStateError(`service '${line.serviceRef}' of line '${line.lineId}' is not loaded`);
  if (service.clientAccountId !== command.clientAccountId) {
    return reject(command, 'TENANT_MISMATCH', `request '${command.requestId}' is not a request of client account '${command.clientAccountId}'`);
  }
  const scheduled = line.scheduledChange;
  if (!scheduled || scheduled.requestId !== command.requestId) {
    return reject(command, 'NOT_SCHEDULED', `request '${command.requestId}' is not scheduled on line '${line.lineId}' (applied, rejected, cancelled or never scheduled)`);
  }
  const { cancelId, clientAccountId, requestId } = command;
  const lineId = line.lineId;
  const events: DomainEvent[] = [
    domainEvent('opensim.plan-change-cancel.applied', eventKeys.planChangeCancel(cancelId, 'applied'), { cancelId, clientAccountId, requestId, lineId }),
    domainEvent('opensim.plan-change.cancelled', eventKeys.planChange(requestId, 'cancelled'), { requestId, clientAccountId, lineId, cancelId, cancelledAt: normaliseInstant(now) }),
  ];
  return { outcome: 'applied', line: withoutScheduledChange(line), released: scheduled.to, events };
}

function reject(command: CancelPlanChangeCommand, reason: Rejected['reason'], message: string): Rejected {
  const event = planChangeCancelRejected({ cancelId: command.cancelId, clientAccountId: command.clientAccountId, requestId: command.requestId, reason, message });
  return { outcome: 'rejected', reason, message, events: [event] };
}
