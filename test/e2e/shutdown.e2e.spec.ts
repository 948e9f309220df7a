import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/contract/messages.js';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';

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
  const processes: OpensimProcess[] = [];

  afterEach(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await client?.cleanup();
  });

  it('SIGTERM during a burst of 2,000 requests, then a restart: every request has exactly one outcome and none is applied twice', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'info', OPENSIM_PARTITIONS: '8', OPENSIM_SHUTDOWN_GRACE_MS: '10000', OPENSIM_INTAKE_ACK_WAIT_MS: '3000' });
    client = await PipelineClient.open(env);
    for (let a = 0; a < ACCOUNTS; a++) await client.seed(fleet(`SD${a}`, LINES, [{ productRef: 'FPC367678', count: 1 }]));

    const first = spawnOpensim(['start'], env);
    processes.push(first);
    await first.waitForLog((l) => l.msg === 'command intake consuming');

    // The burst: round by round, so each line's requests reach the stream in order.
    const started = Date.now();
    let published = 0;
    const burst = (async () => {
      for (let r = 0; r < ROUNDS; r++) {
        const round: Promise<void>[] = [];
        for (let a = 0; a < ACCOUNTS; a++) for (let i = 0; i < LINES; i++) round.push(client!.planChange(request(a, i, r)).then(() => void published++));
        await Promise.all(round);
      }
    })();

    // SIGTERM once a quarter of the outcomes are out, while the burst is being processed.
    while (outcomeIds(client).size < TOTAL / 4) await new Promise((r) => setTimeout(r, 20));
    const atSignal = outcomeIds(client).size;
    const publishedAtSignal = published;
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const stopMs = Date.now() - signalled;
    const atExit = outcomeIds(client).size;
    expect(code).toBe(0);
    await first.waitForLog((l) => l.msg === 'stopped');
    await burst;
    expect(atExit).toBeLessThan(TOTAL);

    const second = spawnOpensim(['start'], env);
    processes.push(second);
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

    console.info(JSON.stringify({ publishedAtSigterm: publishedAtSignal, outcomesAtSigterm: atSignal, outcomesAtExit: atExit, sigtermToExitMs: stopMs, burstToAllOutcomesMs: totalMs }));
  }, 180_000);
});
