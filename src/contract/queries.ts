import { z } from 'zod';
import { CATEGORIES, DATA_STATES, LINE_STATES, PLAN_CHANGE_REASONS, THRESHOLD_NAMES } from '../domain/index.js';
import { DATA_STATE_REASONS, envelopeSchema, thresholdsSchema, usageViewSchema } from './events.js';
import { instant, messageId, planChangeRequestSchema, subjectToken } from './messages.js';

/**
 * The queries of CONTRACT.md ("Additions of 2026-11-30", Queries): NATS request-reply on
 * `opensim.qry.line.<clientAccountId>`, `opensim.qry.request.<clientAccountId>` and
 * `opensim.qry.plan-change-preview.<clientAccountId>`. Bodies and replies are defined once here;
 * docs/asyncapi.json is generated from them, and the HTTP API (`GET /api/lines/<lineId>`)
 * answers the same line view.
 *
 * Replies are not strict: consumers must accept fields added later.
 */

export const lineQuerySchema = z
  .object({ clientAccountId: subjectToken, lineId: subjectToken })
  .strict()
  .meta({ title: 'LineQuery', description: 'Ask for the current view of one line of the account.' });
export type LineQuery = z.infer<typeof lineQuerySchema>;

export const requestQuerySchema = z
  .object({ clientAccountId: subjectToken, requestId: messageId })
  .strict()
  .meta({ title: 'RequestQuery', description: 'Ask what became of a plan-change request of the account.' });
export type RequestQuery = z.infer<typeof requestQuerySchema>;

const bytes = z.int().nonnegative();
const nullableBytes = bytes.nullable();
const planRefSchema = z.object({ resourceId: z.string(), productRef: z.string() });

export const lineViewSchema = z
  .object({
    lineId: z.string(),
    clientAccountId: z.string(),
    serviceRef: z.string(),
    state: z.enum(LINE_STATES),
    dataState: z.enum(DATA_STATES).meta({ description: "The rules' decision for the month, as usage.updated and envelope.recomputed carry it." }),
    month: envelopeSchema.shape.month,
    plan: planRefSchema.extend({ label: z.string(), category: z.enum(CATEGORIES) }),
    envelope: envelopeSchema,
    thresholds: thresholdsSchema,
    usage: usageViewSchema,
    remainingBytes: nullableBytes.meta({ description: 'max(0, envelope − usedBytes); null for a metered plan.' }),
    overageExposureBytes: nullableBytes.meta({ description: 'max(0, blockBytes − envelope); null if either is null.' }),
    crossed: z.array(z.enum(THRESHOLD_NAMES)).meta({ description: 'Thresholds crossed this month and not lifted since by an upgrade.' }),
    scheduledChange: z.object({ requestId: z.string(), to: planRefSchema, effectiveAt: instant }).nullable(),
    enforcement: z
      .object({ state: z.enum(DATA_STATES), reason: z.enum(DATA_STATE_REASONS), since: instant })
      .nullable()
      .meta({ 'x-addition': true, description: 'Addition to CONTRACT.md: the data state the threshold-alert consumer enforces this month, why and since when; null until it acts this month.' }),
    version: z.int().nonnegative().meta({ description: "The line document's version: it grows with every guarded write." }),
    updatedAt: instant.nullable().meta({ description: 'The instant of the last guarded write of the line; null for a line not written since it was seeded.' }),
  })
  .meta({
    title: 'LineView',
    description:
      "Derived on read from the line as stored (never a second copy). The month is the Paris month of now: a line whose record is of an earlier month (not rolled over yet) shows the month the next decision would open (current plan's envelope, nothing used, state normal).",
  });

export const REQUEST_STATUSES = ['pending', 'scheduled', 'applied', 'rejected', 'failed', 'cancelled', 'unknown'] as const;
export type RequestStatusName = (typeof REQUEST_STATUSES)[number];

export const requestStatusSchema = z
  .object({
    requestId: z.string(),
    status: z.enum(REQUEST_STATUSES).meta({
      description:
        'pending: a job for it waits or runs; applied, rejected, failed (and scheduled, cancelled): its decision; unknown: never taken in (or not yet: a message still in the stream ahead of the intake is unknown until taken in).',
    }),
    reason: z.string().nullable().meta({ description: 'The rejection reason; for failed, the dead-letter reason (RETRIES_EXHAUSTED, MAX_DELIVERIES).' }),
    eventId: z.string().nullable().meta({ description: 'The id of the outcome event (plan-change:<requestId>:<outcome>).' }),
    decidedAt: instant.nullable(),
    effectiveAt: instant.nullable().meta({ description: 'applied: the instant the change took effect; scheduled: when it will.' }),
  })
  .meta({ title: 'RequestStatus' });
export type RequestStatus = z.infer<typeof requestStatusSchema>;

/** A plan-change body, as upstream would send it, without having to name the request yet. */
export const planChangePreviewQuerySchema = planChangeRequestSchema
  .partial({ requestId: true, requestedAt: true })
  .meta({
    title: 'PlanChangePreviewQuery',
    description: 'What would this plan change do, at once or at effectiveAt? A plan-change body; requestId and requestedAt may be left out (requestedAt then means now).',
  });
export type PlanChangePreviewQuery = z.infer<typeof planChangePreviewQuerySchema>;

const PREVIEW_OUTCOMES = ['applied', 'scheduled', 'rejected'] as const;
const PREVIEW_REASONS = PLAN_CHANGE_REASONS.filter((reason) => reason !== 'INVALID_PAYLOAD') as Exclude<(typeof PLAN_CHANGE_REASONS)[number], 'INVALID_PAYLOAD'>[];

export const planChangePreviewSchema = z
  .object({
    outcome: z.enum(PREVIEW_OUTCOMES).meta({ description: 'What the real request would come to on the current state: applied at once, scheduled, or rejected.' }),
    reason: z.enum(PREVIEW_REASONS).nullable().meta({ description: 'The rule that refuses it, as plan-change.rejected would say; null unless rejected.' }),
    message: z.string().nullable().meta({ 'x-addition': true, description: 'Addition to CONTRACT.md: the rejection\'s text, as plan-change.rejected would carry it; null unless rejected.' }),
    effectiveAt: instant.nullable().meta({ description: 'When it would take effect (UTC): now, or its effectiveAt; null if rejected.' }),
    envelope: envelopeSchema.nullable().meta({ description: 'The envelope of the month it takes effect in, after it; null if rejected.' }),
    thresholds: thresholdsSchema.nullable(),
    usage: usageViewSchema.nullable().meta({ description: 'The usage of that month the figures are computed on: so far this month, or zero for a month not begun yet. null if rejected.' }),
    overageExposureBytes: nullableBytes.meta({ description: 'max(0, blockBytes − envelope) after it; null if rejected or not applicable.' }),
    dataStateAfter: z.enum(DATA_STATES).nullable().meta({ description: "The rules' data state after it; null if rejected." }),
    crossedAtOnce: z.array(z.enum(THRESHOLD_NAMES)).meta({ description: 'The thresholds the change itself would cross (a downgrade below the usage so far: REDUCTION, BLOCK).' }),
  })
  .meta({
    title: 'PlanChangePreview',
    description:
      'The decision the real change would get, computed by the same domain code on the current state, with nothing written and no event. Every rule\'s refusal (UNKNOWN_LINE and TENANT_MISMATCH included) is an outcome "rejected", not an error; a scheduled change is shown as applied at its effectiveAt on the usage of today.',
  });

export const QUERY_ERROR_CODES = ['INVALID_PAYLOAD', 'TENANT_MISMATCH', 'UNKNOWN_LINE', 'UNAVAILABLE'] as const;
export type QueryErrorCode = (typeof QUERY_ERROR_CODES)[number];

export const queryErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(QUERY_ERROR_CODES).meta({ description: 'UNAVAILABLE is an addition to CONTRACT.md: the store did not answer in time; ask again.' }),
      message: z.string(),
    }),
  })
  .meta({ title: 'QueryError', description: 'A refused query: the body fails the schema or names another account than the subject, the line is unknown or another account\'s.' });
export type QueryError = z.infer<typeof queryErrorSchema>;

export function queryError(code: QueryErrorCode, message: string): QueryError {
  return { error: { code, message } };
}
