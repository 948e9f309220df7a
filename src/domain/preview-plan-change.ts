/**
 * previewPlanChange — what a plan change would do, before upstream confirms it ("Choisissez la
 * ressource désirée → Confirmez"). A decision, not a lookup: it runs the real decisions on the
 * current state and keeps nothing.
 *
 * - Immediate: `changePlan` at `now`.
 * - Scheduled: `changePlan` at `now` (the rules of now), then `applyScheduledChange` at
 *   `effectiveAt` on the state it would leave, as the worker would when it falls due, on the usage
 *   of today: a change effective in a later month opens that month (usage restarts at zero), so a
 *   downgrade at the start of next month crosses nothing at once.
 * - Rejected: every rule's refusal, UNKNOWN_LINE and TENANT_MISMATCH included, with its reason
 *   (never an error); the figures "after" are `null`, since nothing would change.
 *
 * The request id was not decided yet as far as a preview is concerned: it asks what this change
 * would do to the line as it is, so the duplicate check does not apply. Without `requestedAt`
 * the request is taken as made `now`.
 */
import { normaliseInstant, type Instant } from './calendar.js';
import { applyScheduledChange } from './apply-scheduled-change.js';
import { changePlan, type Applied, type ChangePlanCommand, type ChangePlanState } from './change-plan.js';
import type { Envelope } from './envelope.js';
import type { UsageView } from './events.js';
import { usageView } from './line-month.js';
import type { PlanChangeRuleReason } from './reasons.js';
import { overageExposureBytes, unreachable, type DataState, type ThresholdName, type Thresholds } from './thresholds.js';

/** A plan-change request whose `requestId` and `requestedAt` may be left out. */
export type PreviewPlanChangeCommand = Omit<ChangePlanCommand, 'requestId' | 'requestedAt'> & { requestId?: string; requestedAt?: Instant };

/** The id a preview without one decides under (it appears in messages only; nothing is kept). */
export const PREVIEW_REQUEST_ID = 'preview';

/** CONTRACT.md's preview reply; `message` is an addition (the rejection's text). */
export interface PlanChangePreview {
  outcome: 'applied' | 'scheduled' | 'rejected';
  reason: PlanChangeRuleReason | null;
  message: string | null;
  /** When it would take effect: `now` for an immediate change, `effectiveAt` for a scheduled one. */
  effectiveAt: Instant | null;
  /** The envelope of the month it would take effect in, after it. */
  envelope: Envelope | null;
  thresholds: Thresholds | null;
  /** The usage of that month the figures are computed on (zero for a month not begun yet). */
  usage: UsageView | null;
  overageExposureBytes: number | null;
  dataStateAfter: DataState | null;
  /** The thresholds the change itself would cross (a downgrade below the usage: REDUCTION, BLOCK). */
  crossedAtOnce: ThresholdName[];
}

export function previewPlanChange(command: PreviewPlanChangeCommand, state: ChangePlanState, now: Instant): PlanChangePreview {
  const request: ChangePlanCommand = { ...command, requestId: command.requestId ?? PREVIEW_REQUEST_ID, requestedAt: command.requestedAt ?? normaliseInstant(now) };
  const undecided: ChangePlanState = { ...state, decidedRequestIds: [] };
  const decided = changePlan(request, undecided, now);
  switch (decided.outcome) {
    case 'applied':
      return after('applied', decided);
    case 'scheduled': {
      const scheduled = decided.line.scheduledChange!;
      const dueState: ChangePlanState = { ...undecided, line: decided.line, targetResource: decided.resources[0] };
      const due = applyScheduledChange({ lineId: decided.line.lineId, requestId: request.requestId }, dueState, scheduled.effectiveAt);
      // Nothing changed between now and effectiveAt but the instant: the rules that passed now pass then.
      if (due.outcome !== 'applied') throw new Error(`a change scheduled at ${scheduled.effectiveAt} did not apply on the state it was scheduled on: ${due.outcome}`);
      return after('scheduled', due);
    }
    case 'rejected':
      return { ...nothingAfter(), outcome: 'rejected', reason: decided.reason, message: decided.message };
    case 'duplicate':
      throw new Error('a preview decides as if the request were new: it cannot be a duplicate');
    default:
      return unreachable(decided);
  }
}

function nothingAfter() {
  return { effectiveAt: null, envelope: null, thresholds: null, usage: null, overageExposureBytes: null, dataStateAfter: null, crossedAtOnce: [] };
}

/** The figures of an applied decision: its month record, its instant (the history entry it added), the crossings it emitted. */
function after(outcome: 'applied' | 'scheduled', applied: Applied): PlanChangePreview {
  const record = applied.month;
  const crossedAtOnce = applied.events.flatMap((event) => (event.type === 'opensim.threshold.crossed' ? [event.data.threshold] : []));
  return {
    outcome,
    reason: null,
    message: null,
    effectiveAt: applied.line.planHistory.at(-1)!.effectiveAt,
    envelope: record.envelope,
    thresholds: record.thresholds,
    usage: usageView(record),
    overageExposureBytes: overageExposureBytes(record.envelope, record.thresholds),
    dataStateAfter: record.dataState,
    crossedAtOnce,
  };
}
