import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { closeRedis, createRedis, isClusterUrl } from '../../src/infra/redis.js';
import type { ServerAddress } from '../../src/config/server-addresses.js';
import { intakeKeys } from '../../src/queues/intake-keys.js';
import { commandQueueName } from '../../src/queues/command-queues.js';
import { services, uniqueName } from '../support/services.js';
import { masterOf, nodeConnection } from './slot-migration.js';

/**
 * The command partitions over the Redis Cluster's shards: each partition's keys (its BullMQ
 * queue and the intake keys that its fenced transaction watches and writes) share one slot, so
 * its transaction stays on one master, and the partitions, at the default count, land on at
 * least two of the three masters. It asks the cluster itself (CLUSTER KEYSLOT, CLUSTER SLOTS)
 * and checks that the master named really holds a job of the partition, and prints the spread.
 */
describe('Redis Cluster: the command partitions spread over the shards', () => {
  const prefix = uniqueName('spread');
  const partitions = loadConfig({}).OPENSIM_PARTITIONS;
  const redis = createRedis(services().redisUrl, { maxRetriesPerRequest: null });
  const queues: Queue[] = [];

  afterAll(async () => {
    for (const q of queues) await q.obliterate({ force: true }).catch(() => {});
    await Promise.all(queues.map((q) => q.close()));
    await closeRedis(redis);
  });

  it(`every partition's keys in one slot; the ${partitions} partitions on at least two of the three masters`, async () => {
    if (!isClusterUrl(services().redisUrl)) throw new Error(`this test needs a Redis Cluster URL (redis+cluster://…); REDIS_URL is ${services().redisUrl}`);
    const rows: { partition: number; queue: string; slot: number; node: ServerAddress; master: string; apart: string[] }[] = [];
    for (let p = 0; p < partitions; p++) {
      const name = commandQueueName(prefix, p);
      const queue = new Queue(name, { connection: redis });
      queues.push(queue);
      // The partition's intake keys: its lease, cursor and attempt counts.
      const intake = intakeKeys(prefix, { layout: partitions, index: p });
      const keys = [queue.toKey('wait'), queue.toKey('meta'), queue.toKey('id'), queue.toKey('a-job'), ...Object.values(intake)];
      const placed = await Promise.all(keys.map(async (key) => ({ key, ...(await masterOf(services().redisUrl, key)) })));
      const slot = placed[0]!.slot;
      rows.push({ partition: p, queue: name, slot, node: placed[0]!.node, master: `${placed[0]!.node.host}:${placed[0]!.node.port}`, apart: placed.filter((k) => k.slot !== slot).map((k) => `${k.key} (slot ${k.slot})`) });
    }
    const masters = new Map<string, number[]>();
    for (const row of rows) masters.set(row.master, [...(masters.get(row.master) ?? []), row.partition]);
    console.info(
      `partition spread over the Redis Cluster (prefix ${prefix}):\n${rows.map((r) => `  p${r.partition}  slot ${String(r.slot).padStart(5)}  ${r.master}  ${r.queue}${r.apart.length ? `  keys in other slots: ${r.apart.join(', ')}` : ''}`).join('\n')}\n` +
        `  per master: ${[...masters].map(([m, ps]) => `${m} ${ps.length} (p${ps.join(', p')})`).join('; ')}`,
    );

    const hashTagged = rows.filter((r) => /\{[^}]+\}/.test(r.queue));
    expect(hashTagged.length, `queue names without a hash tag, so a partition's keys fall in several slots: ${rows.filter((r) => !/\{/.test(r.queue)).map((r) => r.queue).join(', ')}. commandQueueName (src/queues/command-queues.ts) must put the partition's hash tag in the name, e.g. <prefix>-commands-{<prefix>-p<i>} (issue 17, the lead's part)`).toBe(partitions);
    const split = rows.filter((r) => r.apart.length > 0);
    expect(split.map((r) => `p${r.partition}: ${r.apart.join(', ')} apart from its queue's slot ${r.slot}`), 'keys of one partition in other slots than its queue: a fenced transaction over them fails with CROSSSLOT. intakeKeys(prefix, partition) (src/queues/intake-keys.ts) must carry the queue\'s hash tag (issue 17)').toEqual([]);
    expect(masters.size, `the ${partitions} partitions all on one master`).toBeGreaterThanOrEqual(2);

    // The master named really holds the partition's job (a job add is one script over the queue's keys).
    for (const [p, queue] of queues.entries()) {
      await queue.add('plan-change', {}, { jobId: 'spread-probe' });
      const direct = nodeConnection(rows[p]!.node);
      expect(await direct.exists(queue.toKey('spread-probe')).finally(() => direct.disconnect()), `job of partition ${p} on ${rows[p]!.master}`).toBe(1);
    }
  });
});
