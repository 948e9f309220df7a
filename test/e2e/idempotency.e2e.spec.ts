import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { commandJobId, partitionOf } from '../../src/queues/command-queues.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'IDEM';
const SERVICE = `SVC-${ACC}`;

describe('each request takes effect once and gets one outcome', () => {
  let client: PipelineClient;
  let system: RunningSystem;
  let markers = 0;

  beforeAll(async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 3, [{ productRef: 'FPC367678', count: 6 }]));
    system = await startInProcess(env);
  });
  afterAll(async () => {
    await system?.stop();
    await client?.cleanup();
  });

  const request = (requestId: string, lineId: string, targetResourceId: string, requestedAt = '2026-11-15T10:00:00+01:00') => ({
    requestId, clientAccountId: ACC, serviceRef: SERVICE, lineId, targetResourceId, requestedAt,
  });

  /**
   * Every job of a service runs in one partition, first in first out: once a marker sent
   * after the duplicates has its outcome, the duplicates have been processed too.
   */
  async function drained(): Promise<void> {
    const id = `marker-${++markers}`;
    await client.planChange(request(id, 'NO-SUCH-LINE', 'X'));
    await client.waitForEvents((e) => e.data.requestId === id);
  }

  /** Outcomes as a consumer sees them: deduplicated on the CloudEvent id, as CONTRACT.md asks. */
  const outcomesOf = (requestId: string) => [
    ...new Map(client.events.filter((e) => e.type.startsWith('opensim.plan-change.') && e.data.requestId === requestId).map((e) => [e.id, e])).values(),
  ];

  it('given a request applied once, when the same request arrives again with the same Nats-Msg-Id, with another, and after its job left Redis, then nothing changes and no new outcome appears', async () => {
    const body = request('dup-1', `${ACC}-L0`, `${ACC}-L0-FPC367678-0`);
    await client.planChange(body, 'dup-1');
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'dup-1');
    const lineBefore = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });

    await client.planChange(body, 'dup-1'); // dropped by JetStream's duplicate window
    await client.planChange(body, 'dup-1-resent'); // same job id while the job is kept in Redis
    await drained();

    const queue = client.queue(partitionOf(ACC, client.config.OPENSIM_PARTITIONS));
    const job = await queue.getJob(commandJobId({ kind: 'plan-change', subject: '', request: body as never, receivedAt: '' }));
    expect(job).toBeDefined();
    await job!.remove();
    await client.planChange(body, 'dup-1-after-removal'); // only MongoDB remembers it now
    await drained();
    await queue.close();

    expect(outcomesOf('dup-1').map((e) => e.id)).toEqual(['plan-change:dup-1:applied']);
    const lineAfter = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect(lineAfter!.version).toBe(lineBefore!.version);
    expect(lineAfter!.line.planHistory).toEqual(lineBefore!.line.planHistory);
  });

  it('given a rejected request, when it arrives again, then no second outcome', async () => {
    const body = request('dup-rej', `${ACC}-L1`, 'NO-SUCH-RESOURCE');
    await client.planChange(body, 'dup-rej');
    await client.waitForEvents((e) => e.data.requestId === 'dup-rej');
    await client.planChange(body, 'dup-rej-again');
    await drained();
    expect(outcomesOf('dup-rej').map((e) => e.id)).toEqual(['plan-change:dup-rej:rejected']);
  });

  it('given 12 requests on one line published at once, then each has one outcome and the applied ones form an unbroken chain', async () => {
    const lineId = `${ACC}-L2`;
    const targets = [0, 1, 2, 3, 4, 5].map((i) => `${lineId}-FPC367678-${i}`);
    const ids = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    // Alternate between spare resources and the original one: some moves apply, some are refused.
    await Promise.all(ids.map((id, i) => client.planChange(request(id, lineId, i % 4 === 3 ? `${lineId}-R20` : targets[i % targets.length]!))));
    await client.waitForEvents((e) => e.type.startsWith('opensim.plan-change.') && ids.includes(String(e.data.requestId)), 12);
    await drained();

    for (const id of ids) expect(outcomesOf(id)).toHaveLength(1);
    const applied = ids.flatMap(outcomesOf).filter((e) => e.type === 'opensim.plan-change.applied');
    const line = (await client.db.collection('lines').findOne({ _id: lineId as never }))!;
    const history = line.line.planHistory as { resourceId: string; requestId?: string }[];
    // The line's history lists the applied changes in the order they took effect.
    const chain = history.filter((h) => h.requestId && ids.includes(h.requestId)).map((h) => applied.find((e) => e.data.requestId === h.requestId)!);
    expect(chain).toHaveLength(applied.length);
    expect(applied.length).toBeGreaterThan(1);
    let previous = `${lineId}-R20`;
    for (const event of chain) {
      const data = event.data as { from: { resourceId: string }; to: { resourceId: string } };
      expect(data.from.resourceId).toBe(previous);
      previous = data.to.resourceId;
    }
    expect(line.line.activeResourceId).toBe(previous);
    // Arrival order: the partition ran them as published (ids ascending).
    const order = chain.map((e) => Number(String(e.data.requestId).split('-')[1]));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
