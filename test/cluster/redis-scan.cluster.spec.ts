import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis, isClusterUrl, scanKeys } from '../../src/infra/redis.js';
import { services, uniqueName } from '../support/services.js';
import { masterOf } from './slot-migration.js';

/** Looking keys up by pattern on a Redis Cluster (the partitioning's search for command queues does). */
describe('Redis Cluster: SCAN', () => {
  const redis = createRedis(services().redisUrl);
  const keys: string[] = [];
  afterAll(async () => {
    for (const key of keys) await redis.del(key);
    await closeRedis(redis);
  });

  it('given keys on every master, then scanKeys finds them all, where a SCAN through the Cluster client sees one node', async () => {
    if (!isClusterUrl(services().redisUrl)) throw new Error(`this test needs a Redis Cluster URL (redis+cluster://…); REDIS_URL is ${services().redisUrl}`);
    const base = uniqueName('scan');
    const masters = new Set<number>();
    for (let i = 0; masters.size < 3 && i < 200; i++) {
      const key = `${base}:{k${i}}`;
      const { node } = await masterOf(services().redisUrl, key);
      if (masters.has(node.port)) continue;
      masters.add(node.port);
      keys.push(key);
      await redis.set(key, '1');
    }
    expect((await scanKeys(redis, `${base}:*`)).sort()).toEqual([...keys].sort());
    const [, oneNode] = await redis.scan('0', 'MATCH', `${base}:*`, 'COUNT', 10_000);
    expect(oneNode.length).toBeLessThan(keys.length);
  });
});
