import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/contract/messages.js';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startRedisOutage } from '../support/redis-outage.js';

const ACCOUNTS = 10;
const LINES = 50;
const ROUNDS = 4;
const TOTAL = ACCOUNTS * LINES * ROUNDS; // 2,000

/** Round r of line i of account a: to the spare on even rounds, back to the 20 GiB resource on odd ones. */
function request(a: number, i: number, r: number) {
  const acc = `SD${a}`;
  const lineId = `${acc}-L${i}`;
  return {
    requestId: `sd-${a}-${i}-${r}`, clientAccountId: acc, serviceRef: `SVC-${acc}`, lineId,
    targetResourceId: r % 2 === 0 ? `${lineId}-FPC367678-0` : `${lineId}-R20`,
    requestedAt: `2026-11-15T10:0${r}:00+01:00`,
  };
}

const isOutcome = (e: CloudEvent) => e.type.startsWith('opensim.plan-change.') && String(e.data.requestId).startsWith('sd-');
const outcomeIds = (client: PipelineClient) => new Set(client.events.filter(isOutcome).map((e) => e.id));

describe('graceful shutdown', () => {
  let client: PipelineClient | undefined;
  let proxy: TcpProxy | undefined;
  const processes: OpensimProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.kill('SIGKILL');
    await proxy?.close();
    proxy = undefined;
    await client?.cleanup();
  });

  /** A process whose MongoDB the test can cut, with one request stuck retrying in a job. */
  async function processWithStuckJob(grace: string): Promise<OpensimProcess> {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_SHUTDOWN_GRACE_MS: grace, OPENSIM_RETRY_ATTEMPTS: '100', OPENSIM_RETRY_BASE_MS: '100', OPENSIM_RETRY_MAX_MS: '300' });
    client = await PipelineClient.open(env);
    await client.seed(fleet('STUCK', 1));
    proxy = await startTcpProxy(env.MONGO_URL!, 27017);
    const url = new URL(proxy.url(env.MONGO_URL!));
    url.searchParams.set('serverSelectionTimeoutMS', '300');
    const opensim = spawnOpensim(['start'], { ...env, MONGO_URL: url.toString() });
    processes.push(opensim);
    await opensim.waitForLog((l) => l.msg === 'intake partition taken');
    await proxy.cut();
    await client.planChange({ requestId: 'stuck-1', clientAccountId: 'STUCK', serviceRef: 'SVC-STUCK', lineId: 'STUCK-L0', targetResourceId: 'STUCK-L0-FPC367678-0', requestedAt: '2026-11-15T10:00:00+01:00' });
    await opensim.waitForLog((l) => /attempt failed; retrying/.test(l.msg));
    return opensim;
  }

  it('a job that cannot finish within the grace period: exit 0 when it expires; after a restart the request is applied once', async () => {
    const first = await processWithStuckJob('1500');
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const stopMs = Date.now() - signalled;
    expect(stopMs).toBeGreaterThanOrEqual(1400);
    expect(stopMs).toBeLessThan(10_000);
    await first.waitForLog((l) => /did not close within the grace period/.test(l.msg));

    await proxy!.restore();
    // The job's lock (2 s in tests) expires and the restarted worker takes it over.
    processes.push(spawnOpensim(['start'], client!.env));
    await client!.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'stuck-1', 1, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(new Set(client!.events.filter((e) => e.data.requestId === 'stuck-1').map((e) => e.id))).toEqual(new Set(['plan-change:stuck-1:applied']));
    expect((await client!.db.collection('lines').findOne({ _id: 'STUCK-L0' as never }))!.version).toBe(1);
  }, 60_000);

  it('with Redis away at shutdown (an enqueue hanging), stopping still ends within the grace periods', async () => {
    const env = isolatedEnv({ OPENSIM_SHUTDOWN_GRACE_MS: '1000' });
    client = await PipelineClient.open(env);
    proxy = await startRedisOutage(env.REDIS_URL!);
    const system = await startInProcess({ ...env, REDIS_URL: proxy.url(env.REDIS_URL!) });
    await proxy.cut();
    await client.planChange({ requestId: 'hang-1', clientAccountId: 'HANG', serviceRef: 'SVC-HANG', lineId: 'HANG-L0', targetResourceId: 'X', requestedAt: '2026-11-15T10:00:00+01:00' });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await system.stop();
    // Each role waits at most the grace period (+1 s for a role stuck on Redis), in turn.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('a second signal exits at once, without waiting for the grace period', async () => {
    const opensim = await processWithStuckJob('30000');
    opensim.child.kill('SIGTERM');
    await opensim.waitForLog((l) => l.msg === 'shutting down');
    await new Promise((r) => setTimeout(r, 500));
    expect(opensim.child.exitCode).toBeNull();
    const second = Date.now();
    opensim.child.kill('SIGINT');
    expect(await opensim.exited).toBe(1);
    expect(Date.now() - second).toBeLessThan(2000);
    expect(opensim.logs.some((l) => l.msg === 'second signal: exiting at once')).toBe(true);
  }, 60_000);

  it.each([
    ['then a restart', false],
    ['in a rolling restart (the new process already running, holding its share of the partitions)', true],
  ])('SIGTERM during a burst of 2,000 requests, %s: every request has exactly one outcome and none is applied twice', async (_how, rolling) => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_PARTITIONS: '8', OPENSIM_SHUTDOWN_GRACE_MS: '10000', OPENSIM_INTAKE_ACK_WAIT_MS: '3000' });
    client = await PipelineClient.open(env);
    for (let a = 0; a < ACCOUNTS; a++) await client.seed(fleet(`SD${a}`, LINES, [{ productRef: 'FPC367678', count: 1 }]));

    const first = spawnOpensim(['start'], env);
    processes.push(first);
    await first.waitForLog((l) => l.msg === 'intake partition taken');
    if (rolling) {
      // Started before the burst, so that the burst is still being published when SIGTERM comes:
      // it takes its share of the partitions as the first gives them back, and the rest when the first lets go.
      const next = spawnOpensim(['start'], env);
      processes.push(next);
      await next.waitForLog((l) => l.msg === 'intake partition taken', 30_000);
    }

    // The burst: round by round, so each line's requests reach the stream in order, at about
    // 250 a second, so that it is still being published when SIGTERM comes and after the restart.
    const started = Date.now();
    let published = 0;
    const burst = (async () => {
      for (let r = 0; r < ROUNDS; r++) {
        const round = Array.from({ length: ACCOUNTS * LINES }, (_, k) => request(Math.floor(k / LINES), k % LINES, r));
        for (let k = 0; k < round.length; k += 50) {
          await Promise.all(round.slice(k, k + 50).map((body) => client!.planChange(body)));
          published += Math.min(50, round.length - k);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();

    // SIGTERM once a tenth of the outcomes are out: the burst is still being published and processed.
    while (outcomeIds(client).size < TOTAL / 10) await new Promise((r) => setTimeout(r, 20));
    const atSignal = outcomeIds(client).size;
    const publishedAtSignal = published;
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const stopMs = Date.now() - signalled;
    const atExit = outcomeIds(client).size;
    expect(code).toBe(0);
    await first.waitForLog((l) => l.msg === 'stopped');
    expect(publishedAtSignal).toBeLessThan(TOTAL);
    expect(atExit).toBeLessThan(TOTAL);

    if (!rolling) processes.push(spawnOpensim(['start'], env));
    await burst;
    await client.waitForEvents(isOutcome, TOTAL, 90_000);
    while (outcomeIds(client).size < TOTAL && Date.now() - signalled < 120_000) await new Promise((r) => setTimeout(r, 50));
    const totalMs = Date.now() - started;
    // Let anything late (a re-published event, a redelivery) show itself before counting.
    await new Promise((r) => setTimeout(r, 1500));

    // Exactly one outcome per request, deduplicated by CloudEvent id, and all applied (per-line order held).
    const byRequest = new Map<string, Set<string>>();
    for (const e of client.events.filter(isOutcome)) {
      const ids = byRequest.get(String(e.data.requestId)) ?? new Set<string>();
      ids.add(e.id);
      byRequest.set(String(e.data.requestId), ids);
    }
    expect(byRequest.size).toBe(TOTAL);
    const notOne = [...byRequest].filter(([, ids]) => ids.size !== 1);
    expect(notOne).toEqual([]);
    expect([...byRequest.values()].every((ids) => [...ids][0]!.endsWith(':applied'))).toBe(true);

    // None applied twice: each line was written exactly once per request, in order.
    const lines = await client.db.collection('lines').find({}).toArray();
    expect(lines).toHaveLength(ACCOUNTS * LINES);
    for (const line of lines) {
      const [, a, i] = /^SD(\d+)-L(\d+)$/.exec(String(line._id))!;
      const expected = Array.from({ length: ROUNDS }, (_, r) => `sd-${a}-${i}-${r}`);
      expect({ line: line._id, version: line.version, decided: line.decidedRequestIds, outbox: line.outbox.length }).toEqual({ line: line._id, version: ROUNDS, decided: expected, outbox: 0 });
      expect(line.line.planHistory.filter((h: { requestId?: string }) => h.requestId).map((h: { requestId?: string }) => h.requestId)).toEqual(expected);
    }
    expect(await client.db.collection('requests').countDocuments({ outcome: 'applied' })).toBe(TOTAL);
    expect(await client.db.collection('deadLetters').countDocuments({})).toBe(0);

    const roleStops = Object.fromEntries(first.logs.filter((l) => /^role (stopped|did not stop)/.test(l.msg)).map((l) => [String(l.role), Number(l.ms)]));
    console.info(JSON.stringify({ rolling, roleStopsMs: roleStops, publishedAtSigterm: publishedAtSignal, outcomesAtSigterm: atSignal, outcomesAtExit: atExit, sigtermToExitMs: stopMs, burstToAllOutcomesMs: totalMs }));
  }, 180_000);
});
