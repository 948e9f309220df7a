import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { buildAsyncApi } from '../scripts/asyncapi.js';
import { lineViewSchema, planChangePreviewQuerySchema, planChangePreviewSchema, requestStatusSchema } from '../src/contract/queries.js';
import { lineView, previewPlanChange, scheduledChangeView, type LineView, type PlanChangePreview, type PreviewPlanChangeCommand } from '../src/domain/index.js';
import { aChangePlanState, aLine, aMonth, aScheduledLine, DEC_1, GiB, products } from '../src/domain/spec-support.js';

describe('query schemas (src/contract/queries.ts)', () => {
  it('given the line view schema, then its inferred type equals the domain LineView (checked by tsc)', () => {
    expectTypeOf<z.infer<typeof lineViewSchema>>().toEqualTypeOf<LineView>();
  });

  it('given a view the domain derives, then the schema accepts it; a status outside the contract is refused', () => {
    const line = aLine();
    const view = lineView({ line, clientAccountId: 'ACME', month: aMonth(line, '2026-11', { frBytes: GiB }), enforcement: null, scheduledChange: null, version: 1, updatedAt: null }, products, '2026-11-20T09:00:00.000Z');
    expect(lineViewSchema.safeParse(view).error?.issues ?? []).toEqual([]);
    const status = { requestId: 'r', status: 'applied', reason: null, eventId: 'plan-change:r:applied', decidedAt: '2026-11-20T09:00:00.000Z', effectiveAt: '2026-11-20T09:00:00.000Z' };
    expect(requestStatusSchema.safeParse(status).success).toBe(true);
    expect(requestStatusSchema.safeParse({ ...status, status: 'done' }).success).toBe(false);
  });

  it('given a line with a scheduled change, then its view shows it and the schema accepts it', () => {
    const line = aScheduledLine();
    const view = lineView({ line, clientAccountId: 'ACME', month: aMonth(line, '2026-11'), enforcement: null, scheduledChange: scheduledChangeView(line), version: 2, updatedAt: null }, products, '2026-11-20T09:00:00.000Z');
    expect(view.scheduledChange).toEqual({ requestId: 'req-1', to: { resourceId: 'R-5', productRef: 'FPC367678' }, effectiveAt: '2026-11-30T23:00:00.000Z' });
    expect(lineViewSchema.safeParse(view).error?.issues ?? []).toEqual([]);
  });

  it('given the preview schemas, then the reply is the domain PlanChangePreview and the body the domain preview command (checked by tsc)', () => {
    expectTypeOf<z.infer<typeof planChangePreviewSchema>>().toEqualTypeOf<PlanChangePreview>();
    expectTypeOf<z.infer<typeof planChangePreviewQuerySchema>>().toExtend<PreviewPlanChangeCommand>();
  });

  it('given previews the domain answers (applied, scheduled, rejected), then the schema accepts each; a body without requestId and requestedAt is valid', () => {
    const body = { clientAccountId: 'ACME', serviceRef: 'SRV-ACME', lineId: 'L1', targetResourceId: 'R-5' };
    expect(planChangePreviewQuerySchema.parse(body)).toEqual(body);
    const now = '2026-11-15T09:00:00.000Z';
    const previews = [previewPlanChange(body, aChangePlanState(), now), previewPlanChange({ ...body, effectiveAt: DEC_1 }, aChangePlanState(), now), previewPlanChange(body, aChangePlanState({ line: null }), now)];
    expect(previews.map((p) => p.outcome)).toEqual(['applied', 'scheduled', 'rejected']);
    for (const preview of previews) expect(planChangePreviewSchema.safeParse(preview).error?.issues ?? []).toEqual([]);
  });
});

describe('docs/asyncapi.json: queries', () => {
  const doc = buildAsyncApi() as {
    channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }> }>;
    operations: Record<string, { action: string; channel: { $ref: string }; reply?: { channel: { $ref: string }; messages: { $ref: string }[] } }>;
    components: { schemas: Record<string, { required?: string[] }> };
  };

  it('given each query subject, then the system receives on it and replies with the answer or a QueryError', () => {
    const replies = Object.fromEntries(
      Object.values(doc.operations)
        .filter((op) => op.reply)
        .map((op) => [doc.channels[op.channel.$ref.replace('#/channels/', '')]!.address, op.reply!.messages.map((m) => m.$ref.split('/').at(-1))]),
    );
    expect(replies).toEqual({
      'opensim.qry.line.{clientAccountId}': ['LineView', 'QueryError'],
      'opensim.qry.request.{clientAccountId}': ['RequestStatus', 'QueryError'],
      'opensim.qry.plan-change-preview.{clientAccountId}': ['PlanChangePreview', 'QueryError'],
    });
  });

  it("given the line view schema, then it requires every field of CONTRACT.md's line view", () => {
    expect(doc.components.schemas['LineView']!.required).toEqual(
      expect.arrayContaining(['lineId', 'clientAccountId', 'serviceRef', 'state', 'dataState', 'month', 'plan', 'envelope', 'thresholds', 'usage', 'remainingBytes', 'overageExposureBytes', 'crossed', 'scheduledChange', 'version', 'updatedAt']),
    );
    expect(doc.components.schemas['RequestQuery']!.required).toEqual(['clientAccountId', 'requestId']);
  });

  it("given the preview, then its body is a plan-change body without requestId and requestedAt required, and its reply has every field of CONTRACT.md's", () => {
    expect(doc.components.schemas['PlanChangePreviewQuery']!.required).toEqual(['clientAccountId', 'serviceRef', 'lineId', 'targetResourceId']);
    expect(doc.components.schemas['PlanChangePreview']!.required).toEqual(
      expect.arrayContaining(['outcome', 'reason', 'effectiveAt', 'envelope', 'thresholds', 'usage', 'overageExposureBytes', 'dataStateAfter', 'crossedAtOnce']),
    );
  });
});
