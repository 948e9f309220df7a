/**
 * Events the decisions produce, with `data` in the CONTRACT.md shapes. Adapters persist them
 * with the state change (outbox) and publish them as CloudEvents.
 *
 * `key` is deterministic and unique per logical event; the adapter derives the CloudEvent id
 * from it, so an event re-emitted after a crash or for a duplicate keeps its id.
 * `subjectKind` names the subject family: `plan-change` → opensim.evt.plan-change.<account>,
 * `resource-order` → opensim.evt.resource-order.<account>, `mon` → opensim.mon.<account>.<lineId>
 * (the tokens are in `data.clientAccountId` and `data.lineId`).
 */
import type { Category } from './catalog.js';
import type { Instant, Month } from './calendar.js';
import type { Envelope } from './envelope.js';
import type { PlanChangeCancelReason, PlanChangeReason, ResourceOrderReason } from './reasons.js';
import type { DataState, ThresholdName, Thresholds } from './thresholds.js';
import type { ResourceState } from './catalog.js';

export interface UsageView {
  frBytes: number;
  euBytes: number;
  usedBytes: number;
  spendCents: number;
}

import type { PlanRef } from './catalog.js';

export type { PlanRef };

export interface PlanChangeAppliedData {
  requestId: string;
  clientAccountId: string;
  serviceRef: string;
  lineId: string;
  category: Category;
  from: PlanRef;
  to: PlanRef;
  requestedAt: Instant;
  appliedAt: Instant;
  envelope: Envelope;
  thresholds: Thresholds;
  usage: { usedBytes: number };
  overageExposureBytes: number | null;
}

export interface PlanChangeRejectedData {
  requestId: string | null;
  clientAccountId: string;
  lineId: string | null;
  reason: PlanChangeReason;
  message: string;
}

export interface PlanChangeFailedData {
  requestId: string | null;
  clientAccountId: string;
  lineId: string | null;
  attempts: number;
  error: string;
}

/** A change checked now and waiting for `effectiveAt`; its target is reserved meanwhile. */
export interface PlanChangeScheduledData {
  requestId: string;
  clientAccountId: string;
  serviceRef: string;
  lineId: string;
  category: Category;
  from: PlanRef;
  to: PlanRef;
  requestedAt: Instant;
  effectiveAt: Instant;
}

/** The final outcome of a scheduled request that a cancel removed. */
export interface PlanChangeCancelledData {
  requestId: string;
  clientAccountId: string;
  lineId: string;
  cancelId: string;
  cancelledAt: Instant;
}

export interface PlanChangeCancelAppliedData {
  cancelId: string;
  clientAccountId: string;
  requestId: string;
  lineId: string;
}

/** `cancelId` and `requestId` are `null` only for an invalid payload without usable ones. */
export interface PlanChangeCancelRejectedData {
  cancelId: string | null;
  clientAccountId: string;
  requestId: string | null;
  reason: PlanChangeCancelReason;
  message: string;
}

/** Not in CONTRACT.md: this project's shape (docs/domain.md). */
export interface ResourceOrderAppliedData {
  orderId: string;
  clientAccountId: string;
  serviceRef: string;
  resourceId: string;
  productRef: string;
  orderedAt: Instant;
  state: ResourceState;
}

/** Not in CONTRACT.md: mirrors `plan-change.rejected`. */
export interface ResourceOrderRejectedData {
  orderId: string | null;
  clientAccountId: string;
  resourceId: string | null;
  reason: ResourceOrderReason;
  message: string;
}

export const ENVELOPE_CAUSES = ['plan-change', 'month-start', 'activation'] as const;
export type EnvelopeCause = (typeof ENVELOPE_CAUSES)[number];

export interface EnvelopeRecomputedData {
  lineId: string;
  clientAccountId: string;
  month: Month;
  envelope: Envelope;
  thresholds: Thresholds;
  usage: UsageView;
  overageExposureBytes: number | null;
  dataState: DataState;
  cause: EnvelopeCause;
}

export interface UsageUpdatedData {
  lineId: string;
  clientAccountId: string;
  month: Month;
  usage: UsageView;
  envelopeBytes: number | null;
  remainingBytes: number | null;
  dataState: DataState;
}

export interface ThresholdCrossedData {
  lineId: string;
  clientAccountId: string;
  month: Month;
  threshold: ThresholdName;
  limit: number;
  value: number;
}

/** Why the data state changed: the threshold that tightened it, or what loosened it. */
export type DataStateReason = 'REDUCTION' | 'BLOCK' | 'COST_CAP' | 'PLAN_CHANGE' | 'MONTH_START';

export interface DataStateChangedData {
  lineId: string;
  clientAccountId: string;
  month: Month;
  from: DataState;
  to: DataState;
  reason: DataStateReason;
}

export interface EventDataByType {
  'opensim.plan-change.applied': PlanChangeAppliedData;
  'opensim.plan-change.rejected': PlanChangeRejectedData;
  'opensim.plan-change.failed': PlanChangeFailedData;
  'opensim.plan-change.scheduled': PlanChangeScheduledData;
  'opensim.plan-change.cancelled': PlanChangeCancelledData;
  'opensim.plan-change-cancel.applied': PlanChangeCancelAppliedData;
  'opensim.plan-change-cancel.rejected': PlanChangeCancelRejectedData;
  'opensim.resource-order.applied': ResourceOrderAppliedData;
  'opensim.resource-order.rejected': ResourceOrderRejectedData;
  'opensim.envelope.recomputed': EnvelopeRecomputedData;
  'opensim.usage.updated': UsageUpdatedData;
  'opensim.threshold.crossed': ThresholdCrossedData;
  'opensim.line.data-state.changed': DataStateChangedData;
}
export type EventType = keyof EventDataByType;

export type SubjectKind = 'plan-change' | 'resource-order' | 'mon';

export const SUBJECT_KIND_OF = {
  'opensim.plan-change.applied': 'plan-change',
  'opensim.plan-change.rejected': 'plan-change',
  'opensim.plan-change.failed': 'plan-change',
  'opensim.plan-change.scheduled': 'plan-change',
  'opensim.plan-change.cancelled': 'plan-change',
  // CONTRACT.md puts the cancel's outcomes on the plan-change subject too.
  'opensim.plan-change-cancel.applied': 'plan-change',
  'opensim.plan-change-cancel.rejected': 'plan-change',
  'opensim.resource-order.applied': 'resource-order',
  'opensim.resource-order.rejected': 'resource-order',
  'opensim.envelope.recomputed': 'mon',
  'opensim.usage.updated': 'mon',
  'opensim.threshold.crossed': 'mon',
  'opensim.line.data-state.changed': 'mon',
} as const satisfies Record<EventType, SubjectKind>;

export type DomainEventOf<T extends EventType> = {
  key: string;
  type: T;
  subjectKind: (typeof SUBJECT_KIND_OF)[T];
  data: EventDataByType[T];
};
/** Any event; `switch (event.type)` narrows `data`. */
export type DomainEvent = { [T in EventType]: DomainEventOf<T> }[EventType];

export function domainEvent<T extends EventType>(type: T, key: string, data: EventDataByType[T]): DomainEventOf<T> {
  return { key, type, subjectKind: SUBJECT_KIND_OF[type], data };
}

/** What a plan-change request came to: `scheduled` first for a scheduled one, then one final outcome. */
export type PlanChangeOutcome = 'applied' | 'rejected' | 'failed' | 'scheduled' | 'cancelled';

/**
 * Event keys. Each names the logical event, never a delivery attempt:
 * - `plan-change:<requestId>:applied|rejected|failed|scheduled|cancelled`: a request has at
 *   most one final outcome, so `applied` (or `rejected`) is the same key whether the change was
 *   immediate or fell due
 * - `plan-change-cancel:<cancelId>:applied|rejected`, `resource-order:<orderId>:applied|rejected`
 * - `envelope:<lineId>:<month>:<cause>`, `data-state:<lineId>:<month>:<cause>`, with cause
 *   `plan-change:<requestId>`, `usage:<usageId>`, `month-start` or `activation`
 * - `usage:<lineId>:<usageId>`
 * - `threshold:<lineId>:<month>:<THRESHOLD>:<n>`: the n-th crossing of that threshold in the month
 *   (n > 1 only after a plan change lifted it and usage reached it again).
 */
export const eventKeys = {
  planChange: (requestId: string, outcome: PlanChangeOutcome) => `plan-change:${requestId}:${outcome}`,
  planChangeCancel: (cancelId: string, outcome: 'applied' | 'rejected') => `plan-change-cancel:${cancelId}:${outcome}`,
  resourceOrder: (orderId: string, outcome: 'applied' | 'rejected') => `resource-order:${orderId}:${outcome}`,
  envelope: (lineId: string, month: Month, cause: string) => `envelope:${lineId}:${month}:${cause}`,
  dataState: (lineId: string, month: Month, cause: string) => `data-state:${lineId}:${month}:${cause}`,
  usage: (lineId: string, usageId: string) => `usage:${lineId}:${usageId}`,
  threshold: (lineId: string, month: Month, threshold: ThresholdName, occurrence: number) =>
    `threshold:${lineId}:${month}:${threshold}:${occurrence}`,
};

/**
 * A `plan-change.rejected` event, also for adapters (INVALID_PAYLOAD). `keyId` identifies the
 * message when it has no `requestId` (e.g. the stream sequence).
 */
export function planChangeRejected(data: PlanChangeRejectedData, keyId: string = data.requestId ?? 'unknown'): DomainEventOf<'opensim.plan-change.rejected'> {
  return domainEvent('opensim.plan-change.rejected', eventKeys.planChange(keyId, 'rejected'), data);
}

/** A `plan-change.failed` event, emitted by the adapter when retries are exhausted. */
export function planChangeFailed(data: PlanChangeFailedData, keyId: string = data.requestId ?? 'unknown'): DomainEventOf<'opensim.plan-change.failed'> {
  return domainEvent('opensim.plan-change.failed', eventKeys.planChange(keyId, 'failed'), data);
}

/** A `resource-order.rejected` event, also for adapters (INVALID_PAYLOAD). */
export function resourceOrderRejected(data: ResourceOrderRejectedData, keyId: string = data.orderId ?? 'unknown'): DomainEventOf<'opensim.resource-order.rejected'> {
  return domainEvent('opensim.resource-order.rejected', eventKeys.resourceOrder(keyId, 'rejected'), data);
}

/** A `plan-change-cancel.rejected` event, also for adapters (INVALID_PAYLOAD): `keyId` when the message has no usable `cancelId`. */
export function planChangeCancelRejected(data: PlanChangeCancelRejectedData, keyId: string = data.cancelId ?? 'unknown'): DomainEventOf<'opensim.plan-change-cancel.rejected'> {
  return domainEvent('opensim.plan-change-cancel.rejected', eventKeys.planChangeCancel(keyId, 'rejected'), data);
}
