import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { ASYNCAPI_PATH, buildAsyncApi, renderAsyncApi } from '../scripts/asyncapi.js';
import { eventDataSchemas } from '../src/contract/events.js';
import type {
  dataStateChangedDataSchema,
  envelopeRecomputedDataSchema,
  planChangeAppliedDataSchema,
  planChangeCancelAppliedDataSchema,
  planChangeCancelledDataSchema,
  planChangeCancelRejectedDataSchema,
  planChangeFailedDataSchema,
  planChangeRejectedDataSchema,
  planChangeScheduledDataSchema,
  resourceOrderAppliedDataSchema,
  resourceOrderRejectedDataSchema,
  thresholdCrossedDataSchema,
  usageUpdatedDataSchema,
} from '../src/contract/events.js';
import {
  applyScheduledChange,
  cancelPlanChange,
  changePlan,
  decideAlert,
  orderResource,
  recordUsage,
  rollMonth,
  type DataStateChangedData,
  type DomainEvent,
  type EnvelopeRecomputedData,
  type EventDataByType,
  type PlanChangeAppliedData,
  type PlanChangeCancelAppliedData,
  type PlanChangeCancelledData,
  type PlanChangeCancelRejectedData,
  type PlanChangeFailedData,
  type PlanChangeRejectedData,
  type PlanChangeScheduledData,
  type ResourceOrderAppliedData,
  type ResourceOrderRejectedData,
  type ThresholdCrossedData,
  type UsageUpdatedData,
  planChangeCancelRejected,
  planChangeFailed,
  planChangeRejected,
  resourceOrderRejected,
} from '../src/domain/index.js';
import { ACME, DEC_1, FIVE, GiB, aChangePlanCommand, aChangePlanState, aLine, aMonth, aScheduledLine, products, resource } from '../src/domain/spec-support.js';

describe('outbound event schemas (src/contract/events.ts)', () => {
  it('given each zod schema, then its inferred type equals the domain interface (checked by tsc)', () => {
    // Compile-time: `npx tsc --noEmit` fails if a schema and its interface drift apart.
    expectTypeOf<z.infer<typeof planChangeAppliedDataSchema>>().toEqualTypeOf<PlanChangeAppliedData>();
    expectTypeOf<z.infer<typeof planChangeRejectedDataSchema>>().toEqualTypeOf<PlanChangeRejectedData>();
    expectTypeOf<z.infer<typeof planChangeFailedDataSchema>>().toEqualTypeOf<PlanChangeFailedData>();
    expectTypeOf<z.infer<typeof planChangeScheduledDataSchema>>().toEqualTypeOf<PlanChangeScheduledData>();
    expectTypeOf<z.infer<typeof planChangeCancelledDataSchema>>().toEqualTypeOf<PlanChangeCancelledData>();
    expectTypeOf<z.infer<typeof planChangeCancelAppliedDataSchema>>().toEqualTypeOf<PlanChangeCancelAppliedData>();
    expectTypeOf<z.infer<typeof planChangeCancelRejectedDataSchema>>().toEqualTypeOf<PlanChangeCancelRejectedData>();
    expectTypeOf<z.infer<typeof resourceOrderAppliedDataSchema>>().toEqualTypeOf<ResourceOrderAppliedData>();
    expectTypeOf<z.infer<typeof resourceOrderRejectedDataSchema>>().toEqualTypeOf<ResourceOrderRejectedData>();
    expectTypeOf<z.infer<typeof envelopeRecomputedDataSchema>>().toEqualTypeOf<EnvelopeRecomputedData>();
    expectTypeOf<z.infer<typeof usageUpdatedDataSchema>>().toEqualTypeOf<UsageUpdatedData>();
    expectTypeOf<z.infer<typeof thresholdCrossedDataSchema>>().toEqualTypeOf<ThresholdCrossedData>();
    expectTypeOf<z.infer<typeof dataStateChangedDataSchema>>().toEqualTypeOf<DataStateChangedData>();
    expectTypeOf<{ -readonly [T in keyof typeof eventDataSchemas]: z.infer<(typeof eventDataSchemas)[T]> }>().toEqualTypeOf<EventDataByType>();
  });

  it('given events the domain produces, when parsed with the schema of their type, then each is accepted (the schemas do not over-constrain)', () => {
    const events = sampleEvents();
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(Object.keys(eventDataSchemas)));
    for (const event of events) {
      const parsed = eventDataSchemas[event.type].safeParse(event.data);
      expect(parsed.error?.issues ?? [], `${event.type} ${event.key}`).toEqual([]);
    }
  });
});

describe('docs/asyncapi.json', () => {
  it('given the committed document, then it is exactly what scripts/asyncapi.ts generates (run `npx tsx scripts/asyncapi.ts` to update)', () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(renderAsyncApi());
  });

  it('given the document, then it is AsyncAPI 3.0.0 with the contract channels, and every operation message is one of its channel', () => {
    const doc = buildAsyncApi() as {
      asyncapi: string;
      channels: Record<string, { address: string; messages: Record<string, unknown> }>;
      operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
    };
    expect(doc.asyncapi).toBe('3.0.0');
    expect(Object.values(doc.channels).map((channel) => channel.address)).toEqual([
      'opensim.cmd.plan-change.{clientAccountId}',
      'opensim.cmd.plan-change-cancel.{clientAccountId}',
      'opensim.cmd.resource-order.{clientAccountId}',
      'opensim.usage.{clientAccountId}',
      'opensim.evt.plan-change.{clientAccountId}',
      'opensim.evt.resource-order.{clientAccountId}',
      'opensim.mon.{clientAccountId}.{lineId}',
      'opensim.qry.line.{clientAccountId}',
      null, // replies to a query: the asker's reply subject
      'opensim.qry.request.{clientAccountId}',
      null,
      'opensim.qry.plan-change-preview.{clientAccountId}',
      null,
    ]);
    for (const operation of Object.values(doc.operations)) {
      const channelId = operation.channel.$ref.replace('#/channels/', '');
      const names = Object.keys(doc.channels[channelId]!.messages);
      expect(operation.messages.map((m) => m.$ref)).toEqual(names.map((name) => `#/channels/${channelId}/messages/${name}`));
    }
    expect(Object.values(doc.operations).map((operation) => operation.action)).toEqual(['receive', 'receive', 'receive', 'receive', 'send', 'send', 'send', 'receive', 'receive', 'receive']);
  });

  it('given each outbound message, then its payload is a CloudEvent whose type is fixed and whose data is that type\'s schema', () => {
    const doc = buildAsyncApi() as { components: { schemas: Record<string, { properties: { type: { const: string }; data: { title: string } } }> } };
    const events = Object.entries(doc.components.schemas).filter(([name]) => name.endsWith('Event'));
    expect(events.map(([, schema]) => schema.properties.type.const).sort()).toEqual(Object.keys(eventDataSchemas).sort());
    const applied = doc.components.schemas['PlanChangeAppliedEvent']!;
    expect(applied.properties.data.title).toBe('PlanChangeAppliedData');
    expect(doc.components.schemas['PlanChangeCancelRejectedEvent']!.properties.data.title).toBe('PlanChangeCancelRejectedData');
  });

  it('given the additions of 2026-11-30, then the plan-change body takes an optional effectiveAt, and the cancel body its four required fields', () => {
    const doc = buildAsyncApi() as { components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[]; additionalProperties?: boolean }> } };
    const request = doc.components.schemas['PlanChangeRequest']!;
    expect(request.properties['effectiveAt']).toMatchObject({ type: 'string', format: 'date-time' });
    expect(request.required).not.toContain('effectiveAt');
    expect(doc.components.schemas['PlanChangeCancel']).toMatchObject({ required: ['cancelId', 'clientAccountId', 'requestId', 'requestedAt'], additionalProperties: false });
  });

  it('given the additions to CONTRACT.md, then the document marks them', () => {
    const text = renderAsyncApi();
    for (const reason of ['UNKNOWN_SERVICE', 'UNKNOWN_PRODUCT', 'RESOURCE_CONFLICT', 'PLAN_CHANGE', 'MONTH_START']) expect(text).toContain(reason);
    for (const reason of ['CHANGE_ALREADY_SCHEDULED', 'INVALID_EFFECTIVE_DATE', 'NOT_SCHEDULED']) expect(text).toContain(reason);
    expect(text.match(/"x-addition": true/g)?.length).toBeGreaterThanOrEqual(4);
  });
});

/** At least one event of every type, produced by the domain's own functions. */
function sampleEvents(): DomainEvent[] {
  const line = aLine();
  const events: DomainEvent[] = [];
  // Downgrade 20 → 5 GiB on 15 November with 6 GiB used: applied, envelope, crossings, blocked.
  const downgrade = changePlan(aChangePlanCommand(), aChangePlanState({ month: aMonth(line, '2026-11', { frBytes: 6 * GiB, spendCents: 3500 }) }), '2026-11-15T09:00:00.000Z');
  if (downgrade.outcome !== 'applied') throw new Error(`expected applied, got ${downgrade.outcome}`);
  events.push(...downgrade.events);
  // The threshold-alert consumer's decision on the BLOCK crossing: the line.data-state.changed it publishes.
  const blockCrossing = downgrade.events.find((event) => event.type === 'opensim.threshold.crossed' && event.data.threshold === 'BLOCK');
  if (blockCrossing?.type !== 'opensim.threshold.crossed') throw new Error('expected a BLOCK crossing');
  const enforced = decideAlert({ id: blockCrossing.key, type: blockCrossing.type, data: blockCrossing.data }, { record: downgrade.month, enforcement: null }, '2026-11-15T09:00:01.000Z');
  if (enforced.outcome !== 'decided') throw new Error('expected decided');
  events.push(...enforced.events);
  const rejected = changePlan(aChangePlanCommand({ targetResourceId: 'R-404' }), aChangePlanState({ targetResource: null }), '2026-11-15T09:00:00.000Z');
  if (rejected.outcome === 'duplicate') throw new Error('unexpected duplicate');
  events.push(...rejected.events);
  const usage = recordUsage(
    { usageId: 'u-1', clientAccountId: 'ACME', lineId: 'L1', zone: 'EU', bytes: 17 * GiB, costCents: 100, occurredAt: '2026-11-20T10:00:00+01:00' },
    { line, service: ACME, products, month: aMonth(line, '2026-11'), recordedUsageIds: [] },
    '2026-11-20T09:00:00.000Z',
  );
  if (usage.outcome !== 'recorded') throw new Error(`expected recorded, got ${usage.outcome}`);
  events.push(...usage.events);
  const rolled = rollMonth({ line, clientAccountId: 'ACME', products, month: { ...aMonth(line, '2026-11'), dataState: 'blocked' } }, '2026-12');
  if (rolled.outcome !== 'rolled') throw new Error('expected rolled');
  events.push(...rolled.events);
  const ordered = orderResource(
    { orderId: 'o-1', clientAccountId: 'ACME', serviceRef: ACME.serviceRef, resourceId: 'R-new', productRef: FIVE.productRef, orderedAt: '2026-11-01T10:00:00+01:00' },
    { existing: null, service: ACME, product: FIVE, decidedOrderIds: [] },
  );
  if (ordered.outcome === 'duplicate') throw new Error('unexpected duplicate');
  events.push(...ordered.events);
  // Scheduled for 1 December, then cancelled; a cancel of nothing; a change rejected when due.
  const scheduled = changePlan(aChangePlanCommand({ requestId: 'req-s', effectiveAt: DEC_1 }), aChangePlanState(), '2026-11-15T09:00:00.000Z');
  if (scheduled.outcome !== 'scheduled') throw new Error(`expected scheduled, got ${scheduled.outcome}`);
  events.push(...scheduled.events);
  const cancel = { cancelId: 'c-1', clientAccountId: 'ACME', requestId: 'req-s', requestedAt: '2026-11-20T10:00:00+01:00' };
  const cancelled = cancelPlanChange(cancel, { line: scheduled.line, service: ACME, decidedCancelIds: [] }, '2026-11-20T09:00:00.000Z');
  const notScheduled = cancelPlanChange({ ...cancel, cancelId: 'c-2' }, { line, service: ACME, decidedCancelIds: [] }, '2026-11-20T09:00:00.000Z');
  if (cancelled.outcome === 'duplicate' || notScheduled.outcome === 'duplicate') throw new Error('unexpected duplicate');
  events.push(...cancelled.events, ...notScheduled.events);
  const dueState = aChangePlanState({ line: aScheduledLine(DEC_1, { state: 'suspended' }), targetResource: resource('R-5', FIVE.productRef, 'reserved') });
  const rejectedWhenDue = applyScheduledChange({ lineId: 'L1', requestId: 'req-1' }, dueState, '2026-11-30T23:00:00.000Z');
  if (rejectedWhenDue.outcome !== 'rejected') throw new Error(`expected rejected, got ${rejectedWhenDue.outcome}`);
  events.push(...rejectedWhenDue.events);
  events.push(
    planChangeFailed({ requestId: 'req-9', clientAccountId: 'ACME', lineId: 'L1', attempts: 5, error: 'MongoDB unreachable' }),
    planChangeCancelRejected({ cancelId: null, clientAccountId: 'ACME', requestId: null, reason: 'INVALID_PAYLOAD', message: 'not JSON' }, 'seq-10'),
    planChangeRejected({ requestId: null, clientAccountId: 'ACME', lineId: null, reason: 'INVALID_PAYLOAD', message: 'not JSON' }, 'seq-7'),
    resourceOrderRejected({ orderId: null, clientAccountId: 'ACME', resourceId: null, reason: 'INVALID_PAYLOAD', message: 'not JSON' }, 'seq-8'),
  );
  return events;
}
