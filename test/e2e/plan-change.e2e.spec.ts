import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'ACC1';
const OTHER = 'ACC2';

describe('plan change through NATS, BullMQ and MongoDB', () => {
  let client: PipelineClient;
  let system: RunningSystem;

  beforeAll(async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    const mine = fleet(ACC, 3, [{ productRef: 'FPC367678', count: 1 }, { productRef: 'FPC367680', count: 1 }]);
    const theirs = fleet(OTHER, 1);
    await client.seed({
      services: [...mine.services, ...theirs.services],
      resources: [...mine.resources, ...theirs.resources, { resourceId: `${ACC}-SUSP-R20`, serviceRef: `SVC-${ACC}`, productRef: 'FPC367679', state: 'active' }],
      lines: [...mine.lines, { ...mine.lines[2]!, lineId: `${ACC}-SUSP`, state: 'suspended', activeResourceId: `${ACC}-SUSP-R20` }, ...theirs.lines],
    });
    system = await startInProcess(env);
  });
  afterAll(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  const request = (requestId: string, overrides: Record<string, unknown> = {}) => ({
    requestId,
    clientAccountId: ACC,
    serviceRef: `SVC-${ACC}`,
    lineId: `${ACC}-L0`,
    targetResourceId: `${ACC}-L0-FPC367678-0`,
    requestedAt: new Date().toISOString(),
    requestedBy: 'crm-test',
    ...overrides,
  });

  it('given an available 5 GiB resource of the same category, when the change is requested, then it is applied and the envelope recomputed', async () => {
    await client.planChange(request('ok-1'));
    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'ok-1');
    expect(applied).toMatchObject({
      specversion: '1.0',
      id: 'plan-change:ok-1:applied',
      datacontenttype: 'application/json',
      data: { lineId: `${ACC}-L0`, from: { resourceId: `${ACC}-L0-R20`, productRef: 'FPC367679' }, to: { resourceId: `${ACC}-L0-FPC367678-0`, productRef: 'FPC367678' }, category: 'DATA_PLUS_PER_GB' },
    });
    const [recomputed] = await client.waitForEvents((e) => e.type === 'opensim.envelope.recomputed' && e.subject === `${ACC}-L0` && e.data.cause === 'plan-change');
    expect(recomputed!.data).toMatchObject({ lineId: `${ACC}-L0`, clientAccountId: ACC, envelope: applied!.data.envelope });

    // Published events leave the outbox in a batched pull a few milliseconds after their acks.
    await eventually(async () => (await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never }))!.outbox.length === 0, 5_000);
    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(line).toMatchObject({ version: 1, line: { activeResourceId: `${ACC}-L0-FPC367678-0` }, outbox: [] });
    const resources = await client.db.collection('resources').find({ _id: { $in: [`${ACC}-L0-R20`, `${ACC}-L0-FPC367678-0`] } as never }).toArray();
    expect(Object.fromEntries(resources.map((r) => [r._id, r.state]))).toEqual({ [`${ACC}-L0-R20`]: 'available', [`${ACC}-L0-FPC367678-0`]: 'active' });
  });

  const rejections: [string, Record<string, unknown>, string][] = [
    ['UNKNOWN_LINE', { lineId: 'NO-SUCH-LINE' }, 'no such line'],
    ['TENANT_MISMATCH', { lineId: `${OTHER}-L0`, targetResourceId: `${OTHER}-L0-FPC367678-0` }, 'a line of another account'],
    ['UNKNOWN_RESOURCE', { lineId: `${ACC}-L1`, targetResourceId: 'NO-SUCH-RESOURCE' }, 'no such target'],
    ['TARGET_NOT_AVAILABLE', { lineId: `${ACC}-L1`, targetResourceId: `${ACC}-L2-R20` }, 'the target is active on another line'],
    ['CATEGORY_MISMATCH', { lineId: `${ACC}-L1`, targetResourceId: `${ACC}-L1-FPC367680-0` }, 'a DATA_ONLY target'],
    ['SAME_PLAN', { lineId: `${ACC}-L1`, targetResourceId: `${ACC}-L0-R20` }, 'the same product'],
    ['LINE_NOT_ACTIVE', { lineId: `${ACC}-SUSP`, targetResourceId: `${ACC}-L2-FPC367678-0` }, 'a suspended line'],
  ];

  it.each(rejections)('given %s (%s… see case), then one rejected event with that reason and nothing changed', async (reason, overrides) => {
    const requestId = `rej-${reason}`;
    await client.planChange(request(requestId, overrides));
    const [rejected] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.rejected' && e.data.requestId === requestId);
    expect(rejected!.data).toMatchObject({ reason, clientAccountId: ACC });
    expect(rejected!.id).toBe(`plan-change:${requestId}:rejected`);
    expect(client.eventsOf('opensim.plan-change.applied', (e) => e.data.requestId === requestId)).toEqual([]);
  });

  it('given a request older than the last applied change, then STALE_REQUEST', async () => {
    await client.planChange(request('stale-new', { lineId: `${ACC}-L1`, targetResourceId: `${ACC}-L1-FPC367678-0`, requestedAt: '2026-11-20T10:00:00+01:00' }));
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'stale-new');
    await client.planChange(request('stale-old', { lineId: `${ACC}-L1`, targetResourceId: `${ACC}-L1-R20`, requestedAt: '2026-11-19T10:00:00+01:00' }));
    const [rejected] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.rejected' && e.data.requestId === 'stale-old');
    expect(rejected!.data.reason).toBe('STALE_REQUEST');
  });

  it.each([
    ['not JSON', '{"requestId": "bad-1", ', 'bad-json'],
    ['a missing field', { requestId: 'bad-2', clientAccountId: ACC, lineId: 'X' }, 'bad-2'],
    ['an account that differs from the subject', { requestId: 'bad-3', clientAccountId: OTHER, serviceRef: 'S', lineId: 'L', targetResourceId: 'R', requestedAt: '2026-11-01T00:00:00Z' }, 'bad-3'],
  ])('given %s, then INVALID_PAYLOAD, a dead letter, and the message is not redelivered', async (_case, body, msgId) => {
    await client.publish(`cmd.plan-change.${ACC}`, body, msgId);
    const [rejected] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.rejected' && e.data.reason === 'INVALID_PAYLOAD' && e.data.requestId === msgId);
    expect(rejected!.data.clientAccountId).toBe(ACC);
    const letters = await client.db.collection('deadLetters').find({ requestId: msgId }).toArray();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'INVALID_PAYLOAD', subject: `${client.prefix}.cmd.plan-change.${ACC}` });
  });

  it('given a resource order, then the resource becomes available and can be used for a change', async () => {
    const order = { orderId: 'ord-1', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, resourceId: 'NEW-5G', productRef: 'FPC367678', orderedAt: new Date().toISOString() };
    await client.publish(`cmd.resource-order.${ACC}`, order, 'ord-1');
    await client.waitForEvents((e) => e.type === 'opensim.resource-order.applied' && e.data.orderId === 'ord-1');
    await client.planChange(request('use-new', { lineId: `${ACC}-L2`, targetResourceId: 'NEW-5G' }));
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'use-new');
  });
});
