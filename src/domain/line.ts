import { normaliseInstant, type Instant } from './calendar.js';
import { InconsistentStateError, type Resource } from './catalog.js';

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
  /** `requestedAt` of the last plan change applied; later requests older than it are stale. */
  lastAppliedRequestedAt: Instant | null;
}

/** The fields of a line a fixture or an activation provides. */
export type LineRegistration = Omit<Line, 'planHistory' | 'lastAppliedRequestedAt'>;

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
