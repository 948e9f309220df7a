import { afterEach, describe, expect, it } from 'vitest';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';

const ACC = 'CRASH';

describe('a worker killed with SIGKILL', () => {
  let client: PipelineClient | undefined;
  let running: OpensimProcess | undefined;

  afterEach(async () => {
    await running?.kill('SIGKILL');
    await client?.cleanup();
  });

  it.each([
    ['in the middle of a job, before the MongoDB write', 'plan-change:before-line-write'],
    ['between the MongoDB write and the NATS publish', 'plan-change:after-line-write'],
    ['while publishing the events', 'relay:before-publish'],
  ])('%s: after restart the request is applied exactly once and its events are published', async (_when, failpoint) => {
    const env = isolatedEnv({ LOG_LEVEL: 'info' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1));
    await client.ensureStreams();
    await client.planChange({ requestId: 'crash-1', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00' });

    const first = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: failpoint });
    running = first;
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const lineAtCrash = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });

    running = spawnOpensim(['start'], env);
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'crash-1', 1, 30_000);
    await client.waitForEvents((e) => e.type === 'opensim.envelope.recomputed' && e.data.cause === 'plan-change', 1, 10_000);
    // A later request of the same service: once it has its outcome, the partition holds nothing older.
    await client.planChange({ requestId: 'after', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: 'NOPE', targetResourceId: 'X', requestedAt: '2026-11-15T11:00:00+01:00' });
    await client.waitForEvents((e) => e.data.requestId === 'after', 1, 30_000);

    const ids = new Set(client.events.filter((e) => e.data.requestId === 'crash-1').map((e) => e.id));
    expect([...ids]).toEqual(['plan-change:crash-1:applied']);
    // Published events leave the outbox in a batched pull a few milliseconds after their acks.
    await eventually(async () => (await client!.db.collection('lines').findOne({ _id: `${ACC}-L0` as never }))!.outbox.length === 0, 5_000);
    const line = (await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never }))!;
    expect(line.version).toBe(1);
    expect(line.outbox).toEqual([]);
    expect(line.line.planHistory.filter((h: { requestId?: string }) => h.requestId === 'crash-1')).toHaveLength(1);
    expect(line.line.activeResourceId).toBe(`${ACC}-L0-FPC367678-0`);
    const resources = await client.db.collection('resources').find({ _id: { $in: [`${ACC}-L0-R20`, `${ACC}-L0-FPC367678-0`] } as never }).toArray();
    expect(Object.fromEntries(resources.map((r) => [r._id, r.state]))).toEqual({ [`${ACC}-L0-R20`]: 'available', [`${ACC}-L0-FPC367678-0`]: 'active' });
    expect(await client.db.collection('requests').countDocuments({ _id: 'plan-change:crash-1' as never })).toBe(1);
    // The crash happened where the failpoint says: before the write nothing was committed, after it the line was.
    expect(lineAtCrash!.version).toBe(failpoint === 'plan-change:before-line-write' ? 0 : 1);
  });
});
