import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntakeCursor, intakeKeys, type TakenIn } from '../../src/producers/intake-cursor.js';
import { commandQueueName, type CommandJob } from '../../src/queues/command-queues.js';
import { services, uniqueName } from '../support/services.js';

const job = (requestId: string, seq: number): TakenIn => ({
  seq,
  job: { kind: 'plan-change', subject: 'x.cmd.plan-change.A', receivedAt: '2026-11-15T10:00:00.000Z', seq, request: { requestId, clientAccountId: 'A', serviceRef: 'SVC-A', lineId: 'L', targetResourceId: 'R', requestedAt: '2026-11-15T10:00:00+01:00' } } satisfies CommandJob,
});

describe('the intake cursor: jobs and cursor move together, only under the lease', () => {
  let prefix: string;
  let redis: Redis;
  let other: Redis;
  let cursor: IntakeCursor;
  const keys = () => intakeKeys(prefix, { layout: 1, index: 0 });

  beforeEach(async () => {
    prefix = uniqueName('cur');
    redis = new Redis(services().redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: true });
    other = new Redis(services().redisUrl);
    cursor = new IntakeCursor(redis, keys(), prefix, () => 0);
  });

  afterEach(async () => {
    await cursor.close();
    const queue = new Queue(commandQueueName(prefix, 0), { connection: other });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await other.del(...Object.values(keys()));
    redis.disconnect();
    other.disconnect();
  });

  const jobIds = async () => {
    const queue = new Queue(commandQueueName(prefix, 0), { connection: other });
    const ids = (await queue.getWaiting()).map((j) => j.id).sort();
    await queue.close();
    return ids;
  };

  it('given the lease, when two messages are committed, then both jobs are waiting and the cursor is at the second', async () => {
    await other.set(keys().lease, 'token-a');
    expect(await cursor.initialise('token-a', 0)).toBe('committed');
    expect(await cursor.commit('token-a', 0, [job('r1', 1), job('r2', 2)])).toBe('committed');
    expect(await jobIds()).toEqual(['pc_r1', 'pc_r2']);
    expect(await cursor.read()).toBe(2);
  });

  it('given another holder, when a commit is tried with the old token, then nothing is added and the cursor stays', async () => {
    await other.set(keys().lease, 'token-a');
    await cursor.initialise('token-a', 0);
    await other.set(keys().lease, 'token-b');
    expect(await cursor.commit('token-a', 0, [job('r1', 1)])).toBe('lease-lost');
    expect(await jobIds()).toEqual([]);
    expect(await cursor.read()).toBe(0);
  });

  it('given the lease is taken after the holder checked its token and before its EXEC, then the transaction is refused whole', async () => {
    await other.set(keys().lease, 'token-a');
    await cursor.initialise('token-a', 0);
    // The interleaving a frozen holder meets: its check passes, then another process takes the lease.
    const mget = redis.mget.bind(redis);
    let stolen = false;
    redis.mget = (async (...names: string[]) => {
      const values = await mget(...names);
      if (!stolen) {
        stolen = true;
        await other.set(keys().lease, 'token-b');
      }
      return values;
    }) as typeof redis.mget;
    expect(await cursor.commit('token-a', 0, [job('r1', 1)])).toBe('lease-lost');
    expect(stolen).toBe(true);
    expect(await jobIds()).toEqual([]);
    expect(await cursor.read()).toBe(0);
  });

  it('given a cursor another holder moved, when a commit expects the old position, then it fails and adds nothing', async () => {
    await other.set(keys().lease, 'token-a');
    await cursor.initialise('token-a', 5);
    await expect(cursor.commit('token-a', 3, [job('r4', 4)])).rejects.toThrow(/OPENSIM_CURSOR_MOVED/);
    expect(await cursor.read()).toBe(5);
    expect(await jobIds()).toEqual([]);
  });

  it('counts the attempts at one message, and a commit past it clears them', async () => {
    await other.set(keys().lease, 'token-a');
    await cursor.initialise('token-a', 0);
    expect(await cursor.countAttempt(1)).toBe(1);
    expect(await cursor.countAttempt(1)).toBe(2);
    await cursor.commit('token-a', 0, [job('r1', 1)]);
    expect(await other.hget(keys().attempts, '1')).toBeNull();
  });
});
