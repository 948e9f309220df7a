import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { commandJobId, partitionOf } from '../../src/queues/command-queues.js';
import { eventually } from '../support/opensim-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'OUTAGE';
const LINES = 20;

/** MongoDB behind a proxy the test can cut: the server others use keeps running. */
async function systemBehindMongoProxy(retry: Record<string, string>) {
  const env = isolatedEnv();
  const client = await PipelineClient.open(env);
  await client.seed(fleet(ACC, LINES));
  const proxy = await startTcpProxy(env.MONGO_URL!, 27017);
  const url = new URL(proxy.url(env.MONGO_URL!));
  url.searchParams.set('serverSelectionTimeoutMS', '500');
  const system = await startInProcess({ ...env, ...retry, MONGO_URL: url.toString() });
  return { client, proxy, system };
}

const request = (i: number) => ({
  requestId: `out-${i}`, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L${i}`,
  targetResourceId: `${ACC}-L${i}-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00',
});

describe('MongoDB unreachable under load', () => {
  let client: PipelineClient | undefined;
  let proxy: TcpProxy | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    await proxy?.close();
    await client?.cleanup();
  });

  it('for 10 s: requests are retried with backoff and all end applied once it is back', async () => {
    ({ client, proxy, system } = await systemBehindMongoProxy({ OPENSIM_RETRY_ATTEMPTS: '12', OPENSIM_RETRY_BASE_MS: '200', OPENSIM_RETRY_MAX_MS: '2000' }));
    await proxy.cut();
    for (let i = 0; i < LINES; i++) await client.planChange(request(i));
    await new Promise((r) => setTimeout(r, 10_000));
    expect(client.eventsOf('opensim.plan-change.applied')).toEqual([]);
    await proxy.restore();

    const applied = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied', LINES, 60_000);
    expect(new Set(applied.map((e) => e.data.requestId)).size).toBe(LINES);
    expect(client.eventsOf('opensim.plan-change.failed')).toEqual([]);
    const lines = await client.db.collection('lines').find({ clientAccountId: ACC }).toArray();
    expect(lines.map((l) => l.version)).toEqual(Array(LINES).fill(1));
  }, 120_000);

  it('past the retry budget: requests end failed, and are dead-lettered once MongoDB is back', async () => {
    ({ client, proxy, system } = await systemBehindMongoProxy({ OPENSIM_RETRY_ATTEMPTS: '3', OPENSIM_RETRY_BASE_MS: '50', OPENSIM_RETRY_MAX_MS: '200' }));
    await proxy.cut();
    const count = 5;
    for (let i = 0; i < count; i++) await client.planChange(request(i));
    // Retries spent: the jobs wait in BullMQ's failed set. A failure is a decision recorded on the
    // line (so a worker that stalled cannot apply the request after it): it waits for MongoDB.
    await eventually(async () => (await client!.failedJobCount()) === count, 60_000);
    expect(client.events.filter((e) => e.type.startsWith('opensim.plan-change.'))).toEqual([]);

    await proxy.restore();
    const failed = await client.waitForEvents((e) => e.type === 'opensim.plan-change.failed', count, 60_000);
    expect(failed.map((e) => e.data)).toEqual(expect.arrayContaining([expect.objectContaining({ requestId: 'out-0', clientAccountId: ACC, lineId: `${ACC}-L0`, attempts: 3 })]));
    expect(client.eventsOf('opensim.plan-change.applied')).toEqual([]);
    const deadLetters = client.db.collection('deadLetters');
    const deadline = Date.now() + 30_000;
    while ((await deadLetters.countDocuments({ reason: 'RETRIES_EXHAUSTED' })) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const letters = await deadLetters.find({ reason: 'RETRIES_EXHAUSTED' }).toArray();
    expect(letters.map((l) => l.requestId).sort()).toEqual(Array.from({ length: count }, (_, i) => `out-${i}`));
    expect(letters[0]).toMatchObject({ kind: 'plan-change', attempts: 3, subject: `${client.prefix}.cmd.plan-change.${ACC}` });
    expect(JSON.parse(letters[0]!.payload as string)).toMatchObject({ clientAccountId: ACC });
    // Nothing was applied (each line of a failed request recorded its failure), and the dead letters left Redis for MongoDB.
    const lines = await client.db.collection('lines').find({ clientAccountId: ACC }).toArray();
    const failedLines = lines.filter((l) => Number(/-L(\d+)$/.exec(String(l._id))![1]) < count);
    expect(lines.every((l) => l.line.activeResourceId === `${l._id}-R20` && l.decidedRequestIds.length === 0)).toBe(true);
    expect(failedLines.map((l) => [l.version, l.decisions.map((d: { outcome: string; reason: string }) => `${d.outcome} ${d.reason}`)])).toEqual(Array(count).fill([1, ['failed RETRIES_EXHAUSTED']]));
    expect(await client.db.collection('requests').countDocuments({ outcome: 'failed' })).toBe(count);
    let stillFailed = 0;
    for (let p = 0; p < client.config.OPENSIM_PARTITIONS; p++) {
      const q = client.queue(p);
      stillFailed += await q.getFailedCount();
      await q.close();
    }
    expect(stillFailed).toBe(0);
    // Consumers see one failed outcome per request, whatever published it.
    expect(new Set(client.eventsOf('opensim.plan-change.failed').map((e) => e.id)).size).toBe(count);
  }, 120_000);

  it('a request sent again while its failed job still waits for the dead-letter collector is applied, once', async () => {
    // The collector runs with the relay; a long interval holds the failed job in Redis for the whole test.
    ({ client, proxy, system } = await systemBehindMongoProxy({ OPENSIM_RETRY_ATTEMPTS: '2', OPENSIM_RETRY_BASE_MS: '50', OPENSIM_RETRY_MAX_MS: '100', OPENSIM_RELAY_INTERVAL_MS: '600000' }));
    await proxy.cut();
    await client.planChange(request(0));
    await eventually(async () => (await client!.failedJobCount()) === 1, 30_000);
    await proxy.restore();
    const queue = client.queue(partitionOf(ACC, client.config.OPENSIM_PARTITIONS));
    const failedJobId = commandJobId({ kind: 'plan-change', subject: '', request: request(0) as never, receivedAt: '' });
    expect(await queue.getJobState(failedJobId)).toBe('failed');

    // Upstream sends it again (a fresh Nats-Msg-Id), and the same message is delivered twice.
    await client.planChange(request(0), 'out-0-resent');
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'out-0', 1, 30_000);
    await client.planChange(request(0), 'out-0-resent-again');
    await client.planChange({ ...request(1), requestId: 'later' });
    await client.waitForEvents((e) => e.data.requestId === 'later', 1, 30_000);
    await queue.close();

    const line = await client.db.collection('lines').findOne({ _id: `${ACC}-L0` as never });
    expect([line?.version, line?.decidedRequestIds]).toEqual([1, ['out-0']]);
    expect(new Set(client.eventsOf('opensim.plan-change.applied').filter((e) => e.data.requestId === 'out-0').map((e) => e.id)).size).toBe(1);
    // The relay's last pass at stop takes the failed job: its request was applied meanwhile, so
    // its one outcome is `applied` — no failure is announced and nothing is left to retry.
    await system!.stop();
    system = undefined;
    expect(await client.failedJobCount()).toBe(0);
    expect(await client.db.collection('deadLetters').countDocuments({ requestId: 'out-0' })).toBe(0);
    expect(client.eventsOf('opensim.plan-change.failed')).toEqual([]);
  }, 120_000);
});
