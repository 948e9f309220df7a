import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis, isClusterUrl, redisReady, resyncTransactionConnection, transactionConnection, type RedisClient } from '../../src/infra/redis.js';
import { services, uniqueName } from '../support/services.js';
import { masterOf, moveSlot } from './slot-migration.js';

/** The intake's cursor script, in short: it moves the cursor only from where the holder read it. */
const ADVANCE = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return redis.error_reply('OPENSIM_CURSOR_MOVED') end
redis.call('set', KEYS[1], ARGV[2])
return 1`;

/**
 * The intake's fenced enqueue on a Redis Cluster (src/producers/intake-cursor.ts): WATCH the
 * lease and cursor, check the token, then MULTI with a BullMQ job add and the cursor script,
 * EXEC. It works when every key of the transaction carries one hash tag and the transaction has
 * a connection of its own (transactionConnection); these tests show why both are needed, and
 * that ioredis's default Cluster client would run the transaction unfenced after a slot moved.
 */
describe('Redis Cluster: the fenced enqueue of one partition, under one hash tag', () => {
  let admin: RedisClient;
  const opened: RedisClient[] = [];
  const queues: Queue[] = [];

  beforeAll(() => {
    if (!isClusterUrl(services().redisUrl)) throw new Error(`these tests need a Redis Cluster URL (redis+cluster://…); REDIS_URL is ${services().redisUrl}`);
    admin = createRedis(services().redisUrl);
  });
  afterAll(async () => {
    for (const q of queues) await q.obliterate({ force: true }).catch(() => {});
    await Promise.all(queues.map((q) => q.close()));
    await Promise.all([admin, ...opened].map((c) => closeRedis(c)));
  });

  /** One partition's keys, all under the tag `{<prefix>-p<i>}` (BullMQ refuses ':' in a queue name). */
  async function partition(connection: RedisClient, tag = `{${uniqueName('fence')}-p0}`) {
    const queue = new Queue(`fence-commands-${tag}`, { connection });
    queue.on('error', () => {});
    queues.push(queue);
    const keys = { lease: `opensim:${tag}:command-intake:lease`, cursor: `opensim:${tag}:command-intake:cursor` };
    await admin.set(keys.lease, 'T1');
    await admin.set(keys.cursor, '0');
    return { queue, keys };
  }

  /** The fenced enqueue; `meanwhile` runs between the token check and EXEC. */
  async function enqueue(connection: RedisClient, p: Awaited<ReturnType<typeof partition>>, jobId: string, meanwhile: () => Promise<void> = async () => {}): Promise<string> {
    try {
      await connection.watch(p.keys.lease, p.keys.cursor);
      const [holder, at] = await connection.mget(p.keys.lease, p.keys.cursor);
      if (holder !== 'T1') return 'lease-lost';
      await meanwhile();
      const multi = (await p.queue.backend.client).multi();
      void new Job(p.queue, 'plan-change', {}, { jobId }, jobId).addJob(multi as never);
      (multi as unknown as { eval(script: string, numKeys: number, ...args: string[]): void }).eval(ADVANCE, 1, p.keys.cursor, at!, String(Number(at) + 1));
      const results = await multi.exec();
      if (results === null) return 'aborted';
      const failure = results.find(([err]) => err);
      return failure ? `failed: ${failure[0]!.message}` : 'committed';
    } catch (err) {
      return `failed: ${(err as Error).message}`;
    }
  }

  const fencedConnection = async () => {
    const c = transactionConnection(admin);
    opened.push(c);
    await redisReady(c);
    return c;
  };

  it('given the lease unchanged, then the job and the cursor move together', async () => {
    const connection = await fencedConnection();
    const p = await partition(connection);
    expect(await enqueue(connection, p, 'j1')).toBe('committed');
    expect(await admin.get(p.keys.cursor)).toBe('1');
    expect(await admin.exists(p.queue.toKey('j1'))).toBe(1);
  });

  it('given the lease taken by another process between WATCH and EXEC, then nothing is added', async () => {
    const connection = await fencedConnection();
    const p = await partition(connection);
    expect(await enqueue(connection, p, 'j1', () => admin.set(p.keys.lease, 'T2').then(() => {}))).toBe('aborted');
    expect([await admin.get(p.keys.cursor), await admin.exists(p.queue.toKey('j1'))]).toEqual(['0', 0]);
  });

  it('given two partitions sharing one connection, then the first EXEC clears the watch of the second: one connection per transaction', async () => {
    const shared = await fencedConnection();
    const a = await partition(shared);
    // A second partition served by the same master, hence by the same connection of the client.
    const masterOfA = (await masterOf(services().redisUrl, a.keys.lease)).node.port;
    let tagOfB = '';
    while (!tagOfB) {
      const tag = `{${uniqueName('fence')}-p1}`;
      if ((await masterOf(services().redisUrl, `opensim:${tag}:command-intake:lease`)).node.port === masterOfA) tagOfB = tag;
    }
    const b = await partition(shared, tagOfB);
    const outcome = await enqueue(shared, a, 'j1', async () => {
      expect(await enqueue(shared, b, 'k1')).toBe('committed');
      await admin.set(a.keys.lease, 'T2');
    });
    // Committed although the lease changed meanwhile: b's EXEC cleared a's WATCH on the shared connection.
    expect(outcome).toBe('committed');
    const own = [await fencedConnection(), await fencedConnection()];
    const c = await partition(own[0]!);
    const d = await partition(own[1]!);
    expect(
      await enqueue(own[0]!, c, 'j1', async () => {
        await enqueue(own[1]!, d, 'k1');
        await admin.set(c.keys.lease, 'T2');
      }),
    ).toBe('aborted');
  });

  it('given the slot moved to another master mid-transaction and the lease taken there, then transactionConnection refuses, where a default Cluster client commits unfenced', async () => {
    const results: Record<string, string> = {};
    for (const [kind, connection] of [
      ['default Cluster client', createRedis(services().redisUrl, { maxRetriesPerRequest: null })],
      ['transactionConnection', await fencedConnection()],
    ] as const) {
      opened.push(connection);
      await redisReady(connection);
      const p = await partition(connection);
      await connection.get(p.keys.lease); // the client knows the slot's master
      const { slot, node } = await masterOf(services().redisUrl, p.keys.lease);
      const to = (await admin.cluster('SLOTS')).map(([, , master]) => ({ host: master![0], port: master![1] })).find((n) => n.port !== node.port)!;
      try {
        results[kind] = await enqueue(connection, p, 'j1', async () => {
          await moveSlot(services().redisUrl, slot, node, to);
          await admin.set(p.keys.lease, 'T2');
        });
        results[`${kind}: job added`] = String(await admin.exists(p.queue.toKey('j1')));
        if (kind === 'transactionConnection') {
          // The recipe after a failure: learn the slots again, start again from WATCH; the new holder's token is seen.
          await resyncTransactionConnection(connection);
          results[`${kind}: again from WATCH`] = await enqueue(connection, p, 'j1');
        }
      } finally {
        await moveSlot(services().redisUrl, slot, to, node);
      }
    }
    console.info(`slot moved mid-transaction: ${JSON.stringify(results)}`);
    expect(results['default Cluster client']).toBe('committed');
    expect(results['default Cluster client: job added']).toBe('1');
    expect(results.transactionConnection).toMatch(/^failed: .*(EXECABORT|MOVED|redirections)/);
    expect(results['transactionConnection: job added']).toBe('0');
    expect(results['transactionConnection: again from WATCH']).toBe('lease-lost');
  });
});
