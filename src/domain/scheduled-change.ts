/**
 * Scheduled changes (BRIEF.md, "Scheduled changes, cancel and preview"): when a request takes
 * effect, and what a line holds while one of its changes is pending. Small pure helpers the
 * decisions and the adapters share, so the adapters never restate a rule.
 */
import { normaliseInstant, toEpochMs, type Instant } from './calendar.js';
import type { ResourceState } from './catalog.js';
import type { ChangePlanCommand } from './plan-change-command.js';
import type { Line } from './line.js';
import type { ScheduledChangeView } from './line-view.js';

/** How far ahead a change may be scheduled: 400 days of 24 hours after the request is taken in. */
export const MAX_SCHEDULE_AHEAD_DAYS = 400;
const MAX_AHEAD_MS = MAX_SCHEDULE_AHEAD_DAYS * 24 * 60 * 60 * 1000;

export type Timing = { kind: 'immediate' } | { kind: 'scheduled'; effectiveAt: Instant } | { kind: 'invalid'; message: string };

/**
 * When a request takes effect, judged on the payload alone: immediate without `effectiveAt` or
 * with one at or before `now` (a date already past is "as soon as possible", not an error);
 * scheduled up to 400 days ahead; further is INVALID_EFFECTIVE_DATE.
 */
export function timingOf(effectiveAt: Instant | undefined, now: Instant): Timing {
  if (effectiveAt === undefined) return { kind: 'immediate' };
  const ahead = toEpochMs(effectiveAt) - toEpochMs(now);
  if (ahead <= 0) return { kind: 'immediate' };
  if (ahead > MAX_AHEAD_MS) {
    return { kind: 'invalid', message: `effectiveAt ${effectiveAt} is more than ${MAX_SCHEDULE_AHEAD_DAYS} days after ${normaliseInstant(now)}` };
  }
  return { kind: 'scheduled', effectiveAt: normaliseInstant(effectiveAt) };
}

/**
 * The resources a line holds: its active one, and the target of its scheduled change (reserved).
 * What the line document's `holds` lists, under the unique index that keeps one holder per resource.
 */
export function heldResources(line: Pick<Line, 'activeResourceId' | 'scheduledChange'>): string[] {
  const reserved = line.scheduledChange?.to.resourceId;
  return reserved === undefined || reserved === line.activeResourceId ? [line.activeResourceId] : [line.activeResourceId, reserved];
}

/** The state of a resource as the line that holds it says: `active`, `reserved`, or `available` if this line does not hold it. */
export function resourceStateOn(line: Pick<Line, 'activeResourceId' | 'scheduledChange'>, resourceId: string): ResourceState {
  if (line.activeResourceId === resourceId) return 'active';
  return line.scheduledChange?.to.resourceId === resourceId ? 'reserved' : 'available';
}

/** The line view's `scheduledChange` (CONTRACT.md): only the contract's fields of the stored one. */
export function scheduledChangeView(line: Pick<Line, 'scheduledChange'>): ScheduledChangeView | null {
  const scheduled = line.scheduledChange;
  if (!scheduled) return null;
  return { requestId: scheduled.requestId, to: { resourceId: scheduled.to.resourceId, productRef: scheduled.to.productRef }, effectiveAt: scheduled.effectiveAt };
}

/**
 * The request a line's scheduled change was made of, as `changePlan` took it (without
 * `effectiveAt`: it is decided as an immediate change when due). Adapters load its state with it.
 */
export function scheduledRequestOf(line: Pick<Line, 'lineId' | 'scheduledChange'>): ChangePlanCommand | null {
  const scheduled = line.scheduledChange;
  if (!scheduled) return null;
  return {
    requestId: scheduled.requestId,
    clientAccountId: scheduled.clientAccountId,
    serviceRef: scheduled.serviceRef,
    lineId: line.lineId,
    targetResourceId: scheduled.to.resourceId,
    requestedAt: scheduled.requestedAt,
    ...(scheduled.requestedBy === undefined ? {} : { requestedBy: scheduled.requestedBy }),
  };
}

/** The line with its scheduled change gone (applied, rejected or cancelled): the field is absent, not null. */
export function withoutScheduledChange(line: Line): Line {
  const { scheduledChange: _gone, ...rest } = line;
  return rest;
}
