import { describe, expect, it } from 'vitest';
import { Batcher, type Settled } from './batcher.js';

/** A round trip that takes until `release` is called, recording the batches it was given. */
function slowServer() {
  const batches: number[][] = [];
  const pending: (() => void)[] = [];
  const run = async (items: number[]): Promise<Settled<number>[]> => {
    batches.push(items);
    await new Promise<void>((resolve) => pending.push(resolve));
    return items.map((n) => (n < 0 ? { ok: false, error: new Error(`refused ${n}`) } : { ok: true, value: n * 10 }));
  };
  return { batches, run, release: () => pending.splice(0).forEach((r) => r()) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Batcher (group commit)', () => {
  it('given requests in one turn, then they go in one round trip and each gets its own answer', async () => {
    const server = slowServer();
    const batcher = new Batcher(server.run, { maxBatch: 100, maxInFlight: 1 });
    const answers = Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    await tick();
    server.release();
    expect(await answers).toEqual([10, 20, 30]);
    expect(server.batches).toEqual([[1, 2, 3]]);
  });

  it('given a round trip out, when more requests come, then they wait and go together in the next one', async () => {
    const server = slowServer();
    const batcher = new Batcher(server.run, { maxBatch: 100, maxInFlight: 1 });
    const first = batcher.submit(1);
    await tick();
    const later = [batcher.submit(2), batcher.submit(3)];
    await tick();
    const more = batcher.submit(4);
    await tick();
    expect(server.batches).toEqual([[1]]);
    server.release();
    await first;
    await tick();
    expect(server.batches).toEqual([[1], [2, 3, 4]]);
    server.release();
    expect(await Promise.all([...later, more])).toEqual([20, 30, 40]);
    expect(batcher.stats).toEqual({ batches: 2, items: 4 });
  });

  it('given more than maxBatch, then they are split; an item refused alone fails alone, a round trip that fails fails its whole batch', async () => {
    const server = slowServer();
    const batcher = new Batcher(server.run, { maxBatch: 2, maxInFlight: 2 });
    const answers = [1, -2, 3].map((n) => batcher.submit(n).then((v) => `ok ${v}`, (e: Error) => e.message));
    await tick();
    expect(server.batches).toEqual([[1, -2], [3]]);
    server.release();
    expect(await Promise.all(answers)).toEqual(['ok 10', 'refused -2', 'ok 30']);

    const failing = new Batcher<number, number>(async () => {
      throw new Error('server away');
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = await Promise.allSettled([failing.submit(1), failing.submit(2)]);
    expect(failed.map((f) => f.status === 'rejected' && (f.reason as Error).message)).toEqual(['server away', 'server away']);
  });
});
