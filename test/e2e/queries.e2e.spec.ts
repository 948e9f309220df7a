import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockStartingAt } from '../../src/runtime/clock.js';
import type { RunningSystem } from '../../src/app/system.js';
import { lineViewSchema, queryErrorSchema, requestStatusSchema } from '../../src/contract/queries.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { expectViewAgreesWithLastEvent } from '../support/line-view-agreement.js';
import { GiB, publishUsage, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'QRY';
const OTHER = 'QRYB';
const CLOCK = '2026-11-15T10:00:00+01:00';

const request = (requestId: string, line: string, target: string) => ({
  requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: line, targetResourceId: target, requestedAt: '2026-11-15T10:00:00+01:00',
});

function merged(...parts: Omit<Fixture, 'products'>[]): Omit<Fixture, 'products'> {
  return { services: parts.flatMap((p) => p.services), resources: parts.flatMap((p) => p.resources), lines: parts.flatMap((p) => p.lines) };
}

describe('queries over NATS request-reply (opensim.qry.line, opensim.qry.request)', () => {
  let client: PipelineClient;
  let system: RunningSystem | undefined;
  const ask = async (kind: 'line' | 'request', account: string, body: unknown): Promise<Record<string, unknown>> => {
    const reply = await client.nc.request(`${client.prefix}.qry.${kind}.${account}`, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 });
    return reply.json<Record<string, unknown>>();
  };

  beforeAll(async () => {
    // usage.updated at most every 100 ms, so the last event of a line comes quickly.
    const env = isolatedEnv({ OPENSIM_USAGE_UPDATED_INTERVAL_MS: '100' });
    client = await PipelineClient.open(env);
    await client.seed(merged(fleet(ACC, 3), fleet(OTHER, 1)));
    system = await startInProcess(env, { clock: clockStartingAt(CLOCK) });
  });

  afterAll(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  it("given a seeded line, then the line query answers its view: the plan, this month's full envelope, nothing used", async () => {
    const view = lineViewSchema.parse(await ask('line', ACC, { clientAccountId: ACC, lineId: `${ACC}-L0` }));
    expect(view).toMatchObject({
      lineId: `${ACC}-L0`, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, state: 'active', dataState: 'normal', month: '2026-11',
      plan: { resourceId: `${ACC}-L0-R20`, productRef: 'FPC367679', label: 'Forfait mobile Data 20 Go', category: 'DATA_PLUS_PER_GB' },
      usage: { usedBytes: 0 }, remainingBytes: 20 * GiB, overageExposureBytes: 0, crossed: [], scheduledChange: null, version: 0,
    });
    expect(view.envelope.totalBytes).toBe(20 * GiB);
  });

  it('given bad bodies, another account or an unknown line, then each is refused with its code and nothing is written', async () => {
    const before = await client.db.collection('lines').find({}).sort({ _id: 1 }).toArray();
    const refusals = {
      notJson: await ask('line', ACC, 'not json'),
      schema: await ask('line', ACC, { clientAccountId: ACC }),
      extraField: await ask('request', ACC, { clientAccountId: ACC, requestId: 'r', lineId: 'x' }),
      subjectDisagrees: await ask('line', ACC, { clientAccountId: OTHER, lineId: `${OTHER}-L0` }),
      otherAccountsLine: await ask('line', ACC, { clientAccountId: ACC, lineId: `${OTHER}-L0` }),
      unknownLine: await ask('line', ACC, { clientAccountId: ACC, lineId: 'NOPE' }),
    };
    const codes = Object.fromEntries(Object.entries(refusals).map(([name, reply]) => [name, queryErrorSchema.parse(reply).error.code]));
    expect(codes).toEqual({ notJson: 'INVALID_PAYLOAD', schema: 'INVALID_PAYLOAD', extraField: 'INVALID_PAYLOAD', subjectDisagrees: 'INVALID_PAYLOAD', otherAccountsLine: 'TENANT_MISMATCH', unknownLine: 'UNKNOWN_LINE' });
    expect(queryErrorSchema.parse(refusals.schema).error.message).toMatch(/lineId/);
    expect(await client.db.collection('lines').find({}).sort({ _id: 1 }).toArray()).toEqual(before);
  });

  it('given a plan change and usage, then after the last event of the line the view and that event agree', async () => {
    const line = `${ACC}-L1`;
    await client.planChange(request('q-applied', line, `${line}-FPC367678-0`));
    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'q-applied');
    await publishUsage(client, [usageRecord(ACC, line, 'q-u1', 3 * GiB, '2026-11-15T11:00:00+01:00'), usageRecord(ACC, line, 'q-u2', GiB, '2026-11-15T11:01:00+01:00', { zone: 'EU', costCents: 250 })]);
    const [updated] = await client.waitForEvents((e) => e.type === 'opensim.usage.updated' && e.id === `usage:${line}:q-u2`);
    await client.waitForEvents((e) => e.type === 'opensim.line.data-state.changed' && e.subject === line);

    const view = await expectViewAgreesWithLastEvent(client, ACC, line);
    expect(client.events.filter((e) => e.subject === line && e.type === 'opensim.usage.updated').at(-1)!.id).toBe(updated!.id);
    expect(view.envelope).toEqual(applied!.data.envelope);
    expect(view.envelope.totalBytes).toBe(12_884_901_887); // BRIEF.md's worked example: 20 → 5 GiB on 15 November
    expect(view).toMatchObject({ plan: { productRef: 'FPC367678' }, usage: { frBytes: 3 * GiB, euBytes: GiB, spendCents: 250 }, dataState: 'reduced', crossed: ['REDUCTION'], enforcement: { state: 'reduced', reason: 'REDUCTION' } });
    const doc = await client.db.collection('lines').findOne({ _id: line as never });
    expect(view.version).toBe(doc!.version);
    if (doc!.updatedAt !== undefined) expect(view.updatedAt).toBe(doc!.updatedAt);
  });

  it('given requests applied, rejected and never sent, then the request query answers applied, rejected and unknown with their facts', async () => {
    await client.planChange(request('q-rejected', `${ACC}-L2`, `${ACC}-L1-FPC367678-0`)); // active on L1 since the test above
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.rejected' && e.data.requestId === 'q-rejected');
    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'q-applied');

    const statuses = {
      applied: requestStatusSchema.parse(await ask('request', ACC, { clientAccountId: ACC, requestId: 'q-applied' })),
      rejected: requestStatusSchema.parse(await ask('request', ACC, { clientAccountId: ACC, requestId: 'q-rejected' })),
      unknown: requestStatusSchema.parse(await ask('request', ACC, { clientAccountId: ACC, requestId: 'never-sent' })),
    };
    expect(statuses.applied).toEqual({ requestId: 'q-applied', status: 'applied', reason: null, eventId: applied!.id, decidedAt: expect.any(String), effectiveAt: applied!.data.appliedAt });
    expect(statuses.rejected).toMatchObject({ requestId: 'q-rejected', status: 'rejected', reason: 'TARGET_NOT_AVAILABLE', eventId: 'plan-change:q-rejected:rejected', effectiveAt: null });
    expect(statuses.unknown).toEqual({ requestId: 'never-sent', status: 'unknown', reason: null, eventId: null, decidedAt: null, effectiveAt: null });
    // Another account asking about it: not its request.
    expect(queryErrorSchema.parse(await ask('request', OTHER, { clientAccountId: OTHER, requestId: 'q-applied' })).error.code).toBe('TENANT_MISMATCH');
  });
});
