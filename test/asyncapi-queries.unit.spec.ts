import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { buildAsyncApi } from '../scripts/asyncapi.js';
import { lineViewSchema, requestStatusSchema } from '../src/contract/queries.js';
import { lineView, type LineView } from '../src/domain/index.js';
import { aLine, aMonth, GiB, products } from '../src/domain/spec-support.js';

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
    });
  });

  it("given the line view schema, then it requires every field of CONTRACT.md's line view", () => {
    expect(doc.components.schemas['LineView']!.required).toEqual(
      expect.arrayContaining(['lineId', 'clientAccountId', 'serviceRef', 'state', 'dataState', 'month', 'plan', 'envelope', 'thresholds', 'usage', 'remainingBytes', 'overageExposureBytes', 'crossed', 'scheduledChange', 'version', 'updatedAt']),
    );
    expect(doc.components.schemas['RequestQuery']!.required).toEqual(['clientAccountId', 'requestId']);
  });
});
