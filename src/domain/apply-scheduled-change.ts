/**
 * applyScheduledChange — a scheduled change falls due (BRIEF.md, "Scheduled changes").
 *
 * Called at or after `effectiveAt`, with the real instant as `now` (late if every process was
 * down then). The rules are checked again against the state of now, in changePlan's order (the
 * line may have been suspended meanwhile; its own pending change and reserved target are not an
 * obstacle), and the change is then applied exactly as an immediate change at `now`: same
 * proration (the Paris day of `now` belongs to the new plan; at 00:00 Paris on the 1st the new
 * plan owns the whole month), same events, same keys, `appliedAt` the real instant. A rule that
 * now says no rejects it with that reason, and the reservation is released.
 *
 * The decision is made on the line itself: the adapter commits it with the line's guarded write,
 * the same write a cancel goes through, so exactly one of them wins. A trigger that finds the
 * change gone (applied, rejected or cancelled meanwhile) or not yet due changes nothing.
 */
import { compareInstants, type Instant } from './calendar.js';
import type { Resource } from './catalog.js';
import { applyChecked, rejection, type Applied, type ChangePlanState } from './change-plan.js';
import type { Line } from './line.js';
import type { LineMonth } from './line-month.js';
import { checkRules, isRefusal } from './plan-change-rules.js';
import { scheduledRequestOf, withoutScheduledChange } from './scheduled-change.js';
import type { DomainEvent } from './events.js';
import type { PlanChangeRuleReason } from './reasons.js';

/** What fell due: the line and the request its scheduled change was made of. */
export interface DueChange {
  lineId: string;
  requestId: string;
}

export type ApplyScheduledChangeResult =
  | Applied
  /** Refused now: the line without its scheduled change; `resources` the target released (`available`), if it exists; the month as loaded. */
  | { outcome: 'rejected'; reason: PlanChangeRuleReason; message: string; line: Line; resources: Resource[]; month: LineMonth | null; events: DomainEvent[] }
  /** Nothing of that request is pending on the line (applied, rejected or cancelled meanwhile): nothing to do. */
  | { outcome: 'not-scheduled' }
  /** The trigger came before `effectiveAt` (a clock ahead of the worker's): try again then. */
  | { outcome: 'not-due'; effectiveAt: Instant };

/**
 * `state` is what `changePlan` needs for the line's scheduled request (`scheduledRequestOf`);
 * its `decidedRequestIds` are not looked at (the scheduled request is among them since it was
 * scheduled: whether it is still pending is the line's to say).
 */
export function applyScheduledChange(due: DueChange, state: ChangePlanState, now: Instant): ApplyScheduledChangeResult {
  const line = state.line;
  const scheduled = line?.scheduledChange;
  if (!line || !scheduled || scheduled.requestId !== due.requestId) return { outcome: 'not-scheduled' };
  if (compareInstants(now, scheduled.effectiveAt) < 0) return { outcome: 'not-due', effectiveAt: scheduled.effectiveAt };
  const command = scheduledRequestOf(line)!;
  const checked = checkRules(command, state, scheduled.requestId);
  if (!isRefusal(checked)) return applyChecked(command, checked, now);
  const rejected = rejection(command, checked.lineId, checked.reason, checked.message);
  const target = state.targetResource;
  const released = target && target.resourceId === scheduled.to.resourceId ? [{ ...target, state: 'available' as const }] : [];
  return { ...rejected, line: withoutScheduledChange(line), resources: released, month: state.month };
}
