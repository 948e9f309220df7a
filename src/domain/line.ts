import { normaliseInstant, type Instant } from './calendar.js';
import { InconsistentStateError, type Resource } from './catalog.js';
import type { PlanRef } from './catalog.js';

export const LINE_STATES = ['active', 'suspended', 'terminated'] as const;
export type LineState = (typeof LINE_STATES)[number];

/**
 * One period start in a line's plan history: from `effectiveAt` the line is on `productRef`.
 * The first entry is the activation; each later one a plan change (with its `requestId`).
 * Entries are kept in `effectiveAt` order, so the envelope of any month can be recomputed.
 */
export interface PlanHistoryEntry {
  resourceId: string;
  productRef: string;
  effectiveAt: Instant;
  requestId?: string;
}

/**
 * A plan change waiting for its `effectiveAt` (BRIEF.md, "Scheduled changes"): the request as it
 * was checked when it was taken in, kept on the line so that the decision when it falls due (or a
 * cancel) is made on the line itself, by the line's guarded write, and exactly one of them wins.
 * While it is there, its target is reserved for the line (`heldResources`).
 */
export interface ScheduledChange {
  requestId: string;
  clientAccountId: string;
  serviceRef: string;
  to: PlanRef;
  /** When it takes effect, normalised to UTC (so stored instants compare as strings). */
  effectiveAt: Instant;
  /** As the request sent it: echoed in its events, compared by STALE_REQUEST once applied. */
  requestedAt: Instant;
  requestedBy?: string;
  /** The instant it was scheduled (the decision's `now`), normalised. */
  scheduledAt: Instant;
}

/**
 * A mobile line. Its client account is the one of its service (`serviceRef`): it is not copied here.
 */
export interface Line {
  lineId: string;
  serviceRef: string;
  msisdn?: string;
  iccid?: string;
  rio?: string;
  user?: string;
  state: LineState;
  activatedAt: Instant;
  activeResourceId: string;
  planHistory: PlanHistoryEntry[];
  /** `requestedAt` of the last plan change applied (a scheduled one included, once applied); later requests older than it are stale. */
  lastAppliedRequestedAt: Instant | null;
  /** The change waiting for its `effectiveAt`, at most one; absent when none is pending. */
  scheduledChange?: ScheduledChange;
}

/** The fields of a line a fixture or an activation provides. */
export type LineRegistration = Omit<Line, 'planHistory' | 'lastAppliedRequestedAt' | 'scheduledChange'>;

/** A new line record: its history starts with the active resource's product at activation. */
export function registerLine(line: LineRegistration, activeResource: Resource): Line {
  if (activeResource.resourceId !== line.activeResourceId) {
    throw new InconsistentStateError(`line '${line.lineId}' is active on '${line.activeResourceId}', not '${activeResource.resourceId}'`);
  }
  const activatedAt = normaliseInstant(line.activatedAt);
  return {
    ...line,
    activatedAt,
    planHistory: [{ resourceId: activeResource.resourceId, productRef: activeResource.productRef, effectiveAt: activatedAt }],
    lastAppliedRequestedAt: null,
  };
}
