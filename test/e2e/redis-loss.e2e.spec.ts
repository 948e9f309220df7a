import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { ROLLOVER_SCHEDULER, rolloverQueueName } from '../../src/rollover/month-rollover.js';
import { partitionOf } from '../../src/queues/command-queues.js';
import type { RunningSystem } from '../../src/app/system.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { until } from '../support/monitoring.js';
import { untilStopped } from '../support/frozen.js';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { emptyRedis, rollBackRedis, snapshotRedis } from '../support/redis-loss.js';

/**
 * Redis is not the record (docs/architecture.md, "What each server holds"): commands taken in,
 * acknowledged on JetStream and then lost by Redis (restarted without its files, a failover to a
 * replica that missed the last writes) still get exactly one outcome each, in per-line order. An
 * intake-only process takes the commands in while no worker runs, so they wait in Redis alone
 * when it loses them.
 */
const ACC = 'RLOSS';
const LINES = 10;
const change = (i: number, wave = 'w') => ({
  requestId: `${wave}-${i}`,
  clientAccountId: ACC,
  serviceRef: `SVC-${ACC}`,
  lineId: `${ACC}-L${i % LINES}`,
  // Back and forth between its 5 GiB spare and its 20 GiB resource: each change of a line is
  // valid only once the one before it is applied (it frees the resource the next one takes).
  targetResourceId: Math.floor(i / LINES) % 2 === 0 ? `${ACC}-L${i % LINES}-FPC367678-0` : `${ACC}-L${i % LINES}-R20`,
  requestedAt: new Date(Date.now() - 60_000 + i).toISOString(),
});

describe('Redis losing what it acknowledged', () => {
  let client: PipelineClient | undefined;
  const systems: RunningSystem[] = [];
  const processes: OpensimProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) {
      p.child.kill('SIGCONT');
      await p.kill('SIGKILL');
    }
    for (const s of systems.splice(0)) await s.stop();
    await client?.cleanup();
    client = undefined;
  });

  /** Commands of the account waiting in its partition's queue. */
  const waiting = async () => {
    const counts = await Promise.all([0, 1, 2, 3].map(async (p) => {
      const queue = client!.queue(p);
      const c = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
      await queue.close();
      return Object.values(c).reduce((a, b) => a + b, 0);
    }));
    return counts.reduce((a, b) => a + b, 0);
  };

  /** Each request's outcomes (every event, duplicates included), and the lines' applied order. */
  const outcomes = async (ids: readonly string[]) => {
    const events = await client!.waitForEvents((e) => e.type.startsWith('opensim.plan-change.') && ids.includes(String(e.data.requestId)), ids.length, 60_000);
    // A moment more for any second outcome to show itself.
    await new Promise((r) => setTimeout(r, 1500));
    const all = client!.events.filter((e: CloudEvent) => e.type.startsWith('opensim.plan-change.') && ids.includes(String(e.data.requestId)));
    const byRequest = new Map<string, string[]>();
    for (const e of all) byRequest.set(String(e.data.requestId), [...(byRequest.get(String(e.data.requestId)) ?? []), e.type]);
    return { events, byRequest };
  };

  const expectEachOnceApplied = (byRequest: Map<string, string[]>, ids: readonly string[]) => {
    expect([...byRequest.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(byRequest.get(id), id).toEqual(['opensim.plan-change.applied']);
  };

  /** Every line's plan history, as applied, against the publish order of its changes. */
  const expectPublishOrder = async (ids: readonly string[]) => {
    const lines = await client!.db.collection('lines').find({ clientAccountId: ACC }).toArray();
    for (const line of lines) {
      const applied = (line.line.planHistory as { requestId?: string }[]).flatMap((h) => (h.requestId && ids.includes(h.requestId) ? [h.requestId] : []));
      const published = ids.filter((id) => change(Number(id.split('-')[1]), id.split('-')[0]).lineId === String(line._id));
      expect(applied, String(line._id)).toEqual(published);
    }
  };

  /** A deployment of its own, seeded, with `env` to start its processes on. */
  const deployment = async (overrides: Record<string, string> = {}) => {
    const env = isolatedEnv(overrides);
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, LINES));
    return env;
  };

  /** Publishes `count` changes named `<wave>-<i>` from `from` on, and waits until the intake has them all queued (`queued` in all). */
  const publishWave = async (wave: string, from: number, count: number, queued = count) => {
    const ids = Array.from({ length: count }, (_, k) => `${wave}-${from + k}`);
    for (let k = 0; k < count; k++) await client!.planChange(change(from + k, wave));
    await until(waiting, (n) => n === queued, 20_000, 100);
    return ids;
  };

  /** Every request applied exactly once, and every line's changes in publish order. */
  const expectAppliedOnceInOrder = async (ids: readonly string[]) => {
    const { byRequest } = await outcomes(ids);
    expectEachOnceApplied(byRequest, ids);
    await expectPublishOrder(ids);
  };

  it('given commands taken in by an intake-only process, when Redis comes back empty between runs, then each is applied once, in order', async () => {
    const env = await deployment();
    const intake = await startInProcess(env, { groups: ['intake'] });
    const ids = await publishWave('between', 0, 20);
    await intake.stop();

    expect(await emptyRedis(client!.redis, client!.prefix)).toBeGreaterThan(0);
    systems.push(await startInProcess(env));
    await expectAppliedOnceInOrder(ids);
  }, 120_000);

  it('given commands waiting in Redis, when Redis is emptied while the intake runs, then it finds out, takes them in again, and each is applied once, in order', async () => {
    const env = await deployment();
    systems.push(await startInProcess(env, { groups: ['intake'] }));
    const ids = await publishWave('running', 0, 20);

    expect(await emptyRedis(client!.redis, client!.prefix)).toBeGreaterThan(0);
    // The intake finds the loss on its own: the jobs are back before any worker runs.
    await until(waiting, (n) => n === ids.length, 20_000, 100);
    systems.push(await startInProcess(env, { groups: ['workers'] }));
    await expectAppliedOnceInOrder(ids);
  }, 120_000);

  it('given two waves taken in, when Redis is rolled back to a snapshot between them under the running intake, then both waves are applied once each, in order', async () => {
    const env = await deployment();
    systems.push(await startInProcess(env, { groups: ['intake'] }));
    const first = await publishWave('wave1', 0, 20);
    const snapshot = await snapshotRedis(client!.redis, client!.prefix);
    const second = await publishWave('wave2', 20, 20, 40);

    await rollBackRedis(client!.redis, client!.prefix, snapshot);
    expect(await waiting()).toBe(first.length);
    await until(waiting, (n) => n === first.length + second.length, 20_000, 100);
    systems.push(await startInProcess(env, { groups: ['workers'] }));
    await expectAppliedOnceInOrder([...first, ...second]);
  }, 120_000);

  it('given two running processes, when Redis comes back empty in the middle of a burst of alternating changes on 10 lines, then every change is applied once, in publish order', async () => {
    const env = await deployment();
    systems.push(await startInProcess(env), await startInProcess(env));
    const ids = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    for (let i = 0; i < ids.length; i++) {
      await client!.planChange(change(i, 'burst'));
      if (i === 100) expect(await emptyRedis(client!.redis, client!.prefix)).toBeGreaterThan(0);
    }
    await expectAppliedOnceInOrder(ids);
  }, 120_000);

  it('given the whole system running, when Redis comes back empty, then what Redis alone held is set again: the rollover scheduler, and the global concurrency of 1 of a queue with a job', async () => {
    const env = await deployment();
    const c = client!;
    systems.push(await startInProcess(env));
    const rollover = new Queue(rolloverQueueName(c.prefix), { connection: c.redis });
    const queue = c.queue(partitionOf(ACC, 4));
    try {
      await until(() => rollover.getJobScheduler(ROLLOVER_SCHEDULER), (s) => !!s, 20_000, 100);
      expect(await emptyRedis(c.redis, c.prefix)).toBeGreaterThan(0);
      expect(await rollover.getJobScheduler(ROLLOVER_SCHEDULER)).toBeFalsy();
      await until(() => rollover.getJobScheduler(ROLLOVER_SCHEDULER), (s) => !!s, 20_000, 200);

      await c.planChange(change(0, 'after'));
      const { byRequest } = await outcomes(['after-0']);
      expectEachOnceApplied(byRequest, ['after-0']);
      expect(await queue.getGlobalConcurrency()).toBe(1);
    } finally {
      await rollover.close();
      await queue.close();
    }
  }, 120_000);

  it('given a job failed for stalling too often and not yet collected into MongoDB, when Redis comes back empty, then its command is taken in again and ends with exactly one outcome', async () => {
    const env = await deployment({ LOG_LEVEL: 'info', OPENSIM_LOCK_DURATION_MS: '1000', OPENSIM_INTAKE_LEASE_MS: '1000', OPENSIM_MAX_STALLED_COUNT: '0' });
    const c = client!;
    await c.ensureStreams();
    await c.planChange(change(0, 'stalled'));
    // P freezes inside the job; another process, running no relay (no dead-letter collector),
    // takes the intake over, and its worker's stall check fails the job: failed in Redis alone.
    const frozen = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: 'plan-change:before-line-write:stop', OPENSIM_FAILPOINT_KEY: 'stalled-0' });
    processes.push(frozen);
    await untilStopped(frozen.child.pid!);
    processes.push(spawnOpensim(['start', '--roles', 'intake,workers'], env));
    const queue = c.queue(partitionOf(ACC, 4));
    try {
      await until(() => queue.getFailedCount(), (n) => n === 1, 30_000, 100);
    } finally {
      await queue.close();
    }
    expect(await c.db.collection('deadLetters').countDocuments({ requestId: 'stalled-0' })).toBe(0);
    expect(await c.db.collection('requests').countDocuments({ _id: 'plan-change:stalled-0' as never })).toBe(0);

    expect(await emptyRedis(c.redis, c.prefix)).toBeGreaterThan(0);
    await processes.shift()!.kill('SIGKILL');
    systems.push(await startInProcess(env));
    const { byRequest } = await outcomes(['stalled-0']);
    expect([...byRequest.keys()]).toEqual(['stalled-0']);
    expect(byRequest.get('stalled-0')).toHaveLength(1);
  }, 120_000);
});
