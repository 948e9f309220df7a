import { z } from 'zod';

/**
 * The inbound messages of CONTRACT.md, defined once. The JSON Schema and AsyncAPI
 * documents (docs/asyncapi.json) are generated from these by scripts/asyncapi.ts.
 */

export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const MESSAGE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const subjectToken = z.string().regex(SUBJECT_TOKEN, 'must match ^[A-Za-z0-9_-]{1,64}$');
export const messageId = z.string().regex(MESSAGE_ID, 'must be 1-128 characters of [A-Za-z0-9._:-]');
/** RFC 3339 with an explicit offset (Z or ±hh:mm), as CONTRACT.md requires. */
export const instant = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp with an offset' });
const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const reference = z.string().min(1).max(128);

export const planChangeRequestSchema = z
  .object({
    requestId: messageId,
    clientAccountId: subjectToken,
    serviceRef: reference,
    lineId: subjectToken,
    targetResourceId: reference,
    requestedAt: instant,
    requestedBy: z.string().max(256).optional(),
    effectiveAt: instant.optional().meta({
      description: 'When the change takes effect. Absent, or at or before the instant the request is taken in: at once. Later (up to 400 days): scheduled, its target reserved meanwhile. More than 400 days ahead: rejected INVALID_EFFECTIVE_DATE.',
    }),
  })
  .strict()
  .meta({ title: 'PlanChangeRequest', description: 'Change the active plan (resource) of a line: "Changer la ressource", at once or at effectiveAt.' });
export type PlanChangeRequest = z.infer<typeof planChangeRequestSchema>;

export const planChangeCancelSchema = z
  .object({
    cancelId: messageId,
    clientAccountId: subjectToken,
    requestId: messageId.meta({ description: 'The scheduled plan-change request to cancel.' }),
    requestedAt: instant,
  })
  .strict()
  .meta({ title: 'PlanChangeCancel', description: 'Cancel a scheduled plan change before it is applied; its target resource is released.' });
export type PlanChangeCancel = z.infer<typeof planChangeCancelSchema>;

export const resourceOrderSchema = z
  .object({
    orderId: messageId,
    clientAccountId: subjectToken,
    serviceRef: reference,
    resourceId: reference,
    productRef: reference,
    orderedAt: instant,
  })
  .strict()
  .meta({ title: 'ResourceOrder', description: 'A plan ordered upstream: becomes an available resource of the service.' });
export type ResourceOrder = z.infer<typeof resourceOrderSchema>;

export const usageRecordSchema = z
  .object({
    usageId: messageId,
    clientAccountId: subjectToken,
    lineId: subjectToken,
    zone: z.enum(['FR', 'EU']),
    bytes: nonNegativeInt,
    costCents: nonNegativeInt.optional(),
    occurredAt: instant,
  })
  .strict()
  .meta({ title: 'UsageRecord', description: 'Data used by a line in a zone, with its cost.' });
export type UsageRecord = z.infer<typeof usageRecordSchema>;

/** CloudEvents 1.0, JSON structured mode. */
export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: instant,
    subject: z.string().min(1),
    datacontenttype: z.literal('application/json'),
    data: z.record(z.string(), z.unknown()),
    // CloudEvents' distributed-tracing extension: set while tracing is on (docs/operations.md, "Tracing").
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional()
      .meta({ description: 'CloudEvents distributed-tracing extension: the W3C trace context in which the event was decided, present while the service traces (OTEL_* variables). The same value travels as the NATS header traceparent.' }),
    tracestate: z.string().optional().meta({ description: 'CloudEvents distributed-tracing extension: the W3C tracestate that came with the trace, when there was one (also the NATS header tracestate).' }),
  })
  .meta({ title: 'CloudEvent' });
export type CloudEvent<T = Record<string, unknown>> = Omit<z.infer<typeof cloudEventSchema>, 'data'> & { data: T };
