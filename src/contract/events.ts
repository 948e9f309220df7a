import { z } from 'zod';
import { CATEGORIES, DATA_STATES, ENVELOPE_CAUSES, PLAN_CHANGE_CANCEL_REASONS, PLAN_CHANGE_REASONS, RESOURCE_ORDER_REASONS, RESOURCE_STATES, THRESHOLD_NAMES } from '../domain/index.js';
import type { DataStateReason, EventType } from '../domain/index.js';
import { instant } from './messages.js';

/**
 * The `data` of each outbound event, as zod schemas, for the AsyncAPI document
 * (scripts/asyncapi.ts). The domain defines these shapes as TypeScript interfaces
 * (src/domain/events.ts); test/asyncapi.unit.spec.ts asserts at compile time that each
 * schema's inferred type equals its interface, so the two cannot drift.
 *
 * Objects are not strict: consumers must accept fields added later (the contract is extended,
 * never renamed).
 */

const bytes = z.int().nonnegative();
const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM').meta({ description: 'Europe/Paris calendar month, YYYY-MM.' });
const nullableBytes = bytes.nullable();

export const segmentSchema = z
  .object({
    productRef: z.string(),
    fromDay: z.int().min(1).max(31),
    toDay: z.int().min(1).max(31),
    days: z.int().min(1).max(31),
    allowanceBytes: nullableBytes,
    proratedBytes: nullableBytes.meta({ description: 'floor(allowanceBytes × days / month days); null for a metered product.' }),
  })
  .meta({ title: 'Segment', description: 'An unbroken run of Paris days of the month under one product.' });

export const envelopeSchema = z
  .object({
    month,
    days: z.int().min(28).max(31),
    totalBytes: nullableBytes.meta({ description: 'Sum of the prorated segments; null for a metered (VOICE_DATA_METERED) plan.' }),
    segments: z.array(segmentSchema),
  })
  .meta({ title: 'Envelope', description: 'The prorated data envelope of the month.' });

export const thresholdsSchema = z
  .object({
    reductionBytes: nullableBytes,
    blockBytes: nullableBytes,
    costCapCents: nullableBytes,
  })
  .meta({ title: 'Thresholds', description: "The current plan's full values, never prorated; null when not applicable." });

export const usageViewSchema = z
  .object({
    frBytes: bytes,
    euBytes: bytes,
    usedBytes: bytes.meta({ description: 'frBytes + euBytes.' }),
    spendCents: bytes,
  })
  .meta({ title: 'Usage' });

const planRefSchema = z.object({ resourceId: z.string(), productRef: z.string() });
const overageExposureBytes = nullableBytes.meta({ description: 'max(0, blockBytes − totalBytes); null if either is null.' });
const dataState = z.enum(DATA_STATES);

export const planChangeAppliedDataSchema = z
  .object({
    requestId: z.string(),
    clientAccountId: z.string(),
    serviceRef: z.string(),
    lineId: z.string(),
    category: z.enum(CATEGORIES),
    from: planRefSchema,
    to: planRefSchema,
    requestedAt: instant,
    appliedAt: instant.meta({ description: 'The instant the change took effect (UTC); the envelope is of the Paris month containing it.' }),
    envelope: envelopeSchema,
    thresholds: thresholdsSchema,
    usage: z.object({ usedBytes: bytes }),
    overageExposureBytes,
  })
  .meta({ title: 'PlanChangeAppliedData' });

export const planChangeRejectedDataSchema = z
  .object({
    requestId: z.string().nullable().meta({ description: "The request's requestId, else the Nats-Msg-Id header, else null." }),
    clientAccountId: z.string(),
    lineId: z.string().nullable().meta({ description: 'null when the line is unknown.' }),
    reason: z.enum(PLAN_CHANGE_REASONS),
    message: z.string(),
  })
  .meta({ title: 'PlanChangeRejectedData' });

export const planChangeFailedDataSchema = z
  .object({
    requestId: z.string().nullable(),
    clientAccountId: z.string(),
    lineId: z.string().nullable(),
    attempts: z.int().min(1),
    error: z.string(),
  })
  .meta({ title: 'PlanChangeFailedData', description: 'Retries exhausted: the request is dead-lettered for operations.' });

export const planChangeScheduledDataSchema = z
  .object({
    requestId: z.string(),
    clientAccountId: z.string(),
    serviceRef: z.string(),
    lineId: z.string(),
    category: z.enum(CATEGORIES),
    from: planRefSchema,
    to: planRefSchema.meta({ description: 'The target, reserved for the line until the change is applied, rejected or cancelled.' }),
    requestedAt: instant,
    effectiveAt: instant.meta({ description: 'When it takes effect (UTC). The rules are checked again then; the outcome follows: applied, rejected, or cancelled before it.' }),
  })
  .meta({ title: 'PlanChangeScheduledData' });

export const planChangeCancelledDataSchema = z
  .object({
    requestId: z.string(),
    clientAccountId: z.string(),
    lineId: z.string(),
    cancelId: z.string(),
    cancelledAt: instant,
  })
  .meta({ title: 'PlanChangeCancelledData', description: 'The final outcome of a scheduled request that a cancel removed.' });

export const planChangeCancelAppliedDataSchema = z
  .object({
    cancelId: z.string(),
    clientAccountId: z.string(),
    requestId: z.string(),
    lineId: z.string(),
  })
  .meta({ title: 'PlanChangeCancelAppliedData' });

export const planChangeCancelRejectedDataSchema = z
  .object({
    cancelId: z.string().nullable().meta({ description: "The cancel's cancelId, else the Nats-Msg-Id header, else null." }),
    clientAccountId: z.string(),
    requestId: z.string().nullable().meta({ description: 'null for an invalid payload without a usable requestId.' }),
    reason: z.enum(PLAN_CHANGE_CANCEL_REASONS),
    message: z.string(),
  })
  .meta({ title: 'PlanChangeCancelRejectedData' });

export const resourceOrderAppliedDataSchema = z
  .object({
    orderId: z.string(),
    clientAccountId: z.string(),
    serviceRef: z.string(),
    resourceId: z.string(),
    productRef: z.string(),
    orderedAt: instant,
    state: z.enum(RESOURCE_STATES),
  })
  .meta({ title: 'ResourceOrderAppliedData', 'x-addition': true, description: 'Addition to CONTRACT.md (docs/domain.md): the shape of resource-order.applied.' });

export const resourceOrderRejectedDataSchema = z
  .object({
    orderId: z.string().nullable().meta({ description: 'null for an invalid payload without a usable orderId.' }),
    clientAccountId: z.string(),
    resourceId: z.string().nullable(),
    reason: z.enum(RESOURCE_ORDER_REASONS).meta({
      description: 'Additions to CONTRACT.md (docs/domain.md): UNKNOWN_SERVICE, UNKNOWN_PRODUCT, RESOURCE_CONFLICT (the resourceId exists with another service or product); INVALID_PAYLOAD and TENANT_MISMATCH as for plan changes.',
    }),
    message: z.string(),
  })
  .meta({ title: 'ResourceOrderRejectedData', 'x-addition': true, description: 'Addition to CONTRACT.md (docs/domain.md): mirrors plan-change.rejected.' });

export const envelopeRecomputedDataSchema = z
  .object({
    lineId: z.string(),
    clientAccountId: z.string(),
    month,
    envelope: envelopeSchema,
    thresholds: thresholdsSchema,
    usage: usageViewSchema,
    overageExposureBytes,
    dataState,
    cause: z.enum(ENVELOPE_CAUSES),
  })
  .meta({ title: 'EnvelopeRecomputedData' });

export const usageUpdatedDataSchema = z
  .object({
    lineId: z.string(),
    clientAccountId: z.string(),
    month,
    usage: usageViewSchema,
    envelopeBytes: nullableBytes,
    remainingBytes: nullableBytes.meta({ description: 'max(0, envelopeBytes − usedBytes); null for a metered plan.' }),
    dataState,
  })
  .meta({ title: 'UsageUpdatedData' });

export const thresholdCrossedDataSchema = z
  .object({
    lineId: z.string(),
    clientAccountId: z.string(),
    month,
    threshold: z.enum(THRESHOLD_NAMES),
    limit: bytes.meta({ description: 'Bytes, or cents for COST_CAP.' }),
    value: bytes.meta({ description: 'Usage (bytes, France + Europe) or spend (cents, COST_CAP) when crossed.' }),
  })
  .meta({ title: 'ThresholdCrossedData', description: 'Reported once per line, month and threshold crossing.' });

export const DATA_STATE_REASONS = ['REDUCTION', 'BLOCK', 'COST_CAP', 'PLAN_CHANGE', 'MONTH_START'] as const satisfies readonly DataStateReason[];

export const dataStateChangedDataSchema = z
  .object({
    lineId: z.string(),
    clientAccountId: z.string(),
    month,
    from: dataState,
    to: dataState,
    reason: z.enum(DATA_STATE_REASONS).meta({
      'x-addition': true,
      description: 'Addition to CONTRACT.md (docs/domain.md): the threshold that tightened the state (REDUCTION, BLOCK, COST_CAP) or what loosened it (PLAN_CHANGE, MONTH_START).',
    }),
  })
  .meta({ title: 'DataStateChangedData' });

/** The `data` schema of each event type. */
export const eventDataSchemas = {
  'opensim.plan-change.applied': planChangeAppliedDataSchema,
  'opensim.plan-change.rejected': planChangeRejectedDataSchema,
  'opensim.plan-change.failed': planChangeFailedDataSchema,
  'opensim.plan-change.scheduled': planChangeScheduledDataSchema,
  'opensim.plan-change.cancelled': planChangeCancelledDataSchema,
  'opensim.plan-change-cancel.applied': planChangeCancelAppliedDataSchema,
  'opensim.plan-change-cancel.rejected': planChangeCancelRejectedDataSchema,
  'opensim.resource-order.applied': resourceOrderAppliedDataSchema,
  'opensim.resource-order.rejected': resourceOrderRejectedDataSchema,
  'opensim.envelope.recomputed': envelopeRecomputedDataSchema,
  'opensim.usage.updated': usageUpdatedDataSchema,
  'opensim.threshold.crossed': thresholdCrossedDataSchema,
  'opensim.line.data-state.changed': dataStateChangedDataSchema,
} as const satisfies Record<EventType, z.ZodType>;
