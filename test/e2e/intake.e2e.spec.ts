import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { naming } from '../../src/messaging/subjects.js';
import { intakeKeys } from '../../src/queues/intake-keys.js';
import { eventually } from '../support/opensim-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'INTAKE';
const request = (i: number, lines: number) => ({
  requestId: `in-${i}`, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L${i % lines}`,
  targetResourceId: `${ACC}-L${i % lines}-FPC367678-${Math.floor(i / lines) % 2}`, requestedAt: new Date(Date.UTC(2026, 10, 15, 9, 0, i)).toISOString(),
});

describe('command intake', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    await system?.stop();
    await proxy?.close();
    await client?.cleanup();
  });

  it('given requests published while no worker runs, when one starts, then each is processed', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 3));
    await client.ensureStreams();
    for (let i = 0; i < 3; i++) await client.planChange(request(i, 3));

    system = await startInProcess(env);
    const applied = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied', 3);
    expect(applied.map((e) => e.data.requestId).sort()).toEqual(['in-0', 'in-1', 'in-2']);
  });

  it('given a burst while Redis is away, then no more than the in-flight bound is pulled from the stream, and all are processed when Redis is back', async () => {
    const env = isolatedEnv({ OPENSIM_INTAKE_MAX_IN_FLIGHT: '16' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 50));
    proxy = await startTcpProxy(env.REDIS_URL!, 6379);
    system = await startInProcess({ ...env, REDIS_URL: proxy.url(env.REDIS_URL!) });
    await proxy.cut();

    const burst = 300;
    for (let i = 0; i < burst; i++) await client.planChange(request(i, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const jsm = await client.nc.jetstreamManager();
    const info = await jsm.consumers.info(naming(client.prefix).commandStream, client.intakeConsumer(ACC));
    expect(info.num_ack_pending).toBeLessThanOrEqual(16);
    expect(info.num_pending + info.num_ack_pending + info.delivered.consumer_seq).toBeGreaterThanOrEqual(burst);
    expect(info.num_pending).toBeGreaterThanOrEqual(burst - 16 - info.num_redelivered);

    await proxy.restore();
    const outcomes = await client.waitForEvents((e) => e.type.startsWith('opensim.plan-change.') && String(e.data.requestId).startsWith('in-'), burst, 60_000);
    expect(new Set(outcomes.map((e) => e.data.requestId)).size).toBe(burst);
  }, 90_000);

  it('given two processes, then they share the intake partitions, and requests for lines of one account published back to back are applied in order, across a handover', async () => {
    const env = isolatedEnv({ OPENSIM_PARTITIONS: '8' });
    const lines = 10;
    const rounds = 40;
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, lines));
    const first = await startInProcess(env);
    system = await startInProcess(env);
    expect((await first.readiness.check()).ready).toBe(true);
    // The partitions' leases name their holders: each process takes its share, 4 of 8.
    const holders = async () => {
      const tokens = await Promise.all(Array.from({ length: 8 }, (_, p) => client!.redis.get(intakeKeys(client!.prefix, { layout: 8, index: p }).lease)));
      return tokens.map((t) => t?.split('/')[0] ?? 'none');
    };
    await eventually(async () => {
      const counts = new Map<string, number>();
      for (const h of await holders()) counts.set(h, (counts.get(h) ?? 0) + 1);
      return counts.size === 2 && [...counts.values()].every((n) => n === 4);
    }, 20_000);

    // Round by round, with no pause: a line's next request is ten messages behind its previous one.
    const total = lines * rounds;
    // Request i: to the spare on even rounds, back to the 20 GiB resource on odd ones; out of order, one would be refused.
    const alternating = (i: number) => {
      const lineId = `${ACC}-L${i % lines}`;
      return { ...request(i, lines), targetResourceId: Math.floor(i / lines) % 2 === 0 ? `${lineId}-FPC367678-0` : `${lineId}-R20` };
    };
    const published = (async () => {
      for (let i = 0; i < total; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => client!.planChange(alternating(i + k))));
    })();
    const isOutcome = (e: { type: string; data: Record<string, unknown> }) => e.type.startsWith('opensim.plan-change.') && String(e.data.requestId).startsWith('in-');
    await client.waitForEvents(isOutcome, total / 3, 60_000);
    await first.stop();
    await published;

    const outcomes = await client.waitForEvents(isOutcome, total, 90_000);
    expect(outcomes.filter((e) => e.type !== 'opensim.plan-change.applied').map((e) => [e.data.requestId, e.data.reason])).toEqual([]);
    for (const line of await client.db.collection('lines').find({}).toArray()) {
      const i = Number(/-L(\d+)$/.exec(String(line._id))![1]);
      expect(line.decidedRequestIds).toEqual(Array.from({ length: rounds }, (_, r) => `in-${i + r * lines}`));
    }
  }, 120_000);
});
