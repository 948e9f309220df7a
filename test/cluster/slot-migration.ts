import { Redis } from 'ioredis';
import { serverAddresses, type ServerAddress } from '../../src/config/server-addresses.js';

/** A standalone connection to one node of the cluster, for the admin commands of a test. */
export function nodeConnection(node: ServerAddress): Redis {
  return new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1 });
}

/** The master serving a key's slot, asked of the cluster itself (CLUSTER KEYSLOT, CLUSTER SHARDS). */
export async function masterOf(redisUrl: string, key: string): Promise<{ slot: number; node: ServerAddress }> {
  const seed = nodeConnection(serverAddresses(redisUrl)[0]!);
  try {
    const slot = (await seed.cluster('KEYSLOT', key)) as number;
    const master = (await seed.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (!master) throw new Error(`slot ${slot} of '${key}' is served by no master`);
    return { slot, node: { host: master[0], port: master[1] } };
  } finally {
    seed.disconnect();
  }
}

/**
 * Moves one slot, keys included, from one master to another, as `redis-cli --cluster reshard`
 * does (IMPORTING, MIGRATING, MIGRATE, then SETSLOT NODE on every master).
 */
export async function moveSlot(redisUrl: string, slot: number, from: ServerAddress, to: ServerAddress): Promise<void> {
  const source = nodeConnection(from);
  const target = nodeConnection(to);
  try {
    const sourceId = (await source.cluster('MYID')) as string;
    const targetId = (await target.cluster('MYID')) as string;
    try {
      await target.cluster('SETSLOT', slot, 'IMPORTING', sourceId);
      await source.cluster('SETSLOT', slot, 'MIGRATING', targetId);
      for (;;) {
        const keys = (await source.cluster('GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await source.migrate(to.host, to.port, '', 0, 5000, 'KEYS', ...keys);
      }
      await assignSlot(redisUrl, slot, targetId);
    } catch (err) {
      // Half a move would leave the masters disagreeing about the slot (cluster_state fail for every later test): give it back whole.
      await Promise.allSettled([target.cluster('SETSLOT', slot, 'STABLE'), source.cluster('SETSLOT', slot, 'STABLE')]);
      await assignSlot(redisUrl, slot, sourceId).catch(() => {});
      throw err;
    }
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

/** CLUSTER SETSLOT <slot> NODE <id> on every master: the slot's owner, as all of them see it. */
async function assignSlot(redisUrl: string, slot: number, ownerId: string): Promise<void> {
  for (const node of serverAddresses(redisUrl)) {
    const each = nodeConnection(node);
    await each.cluster('SETSLOT', slot, 'NODE', ownerId).finally(() => each.disconnect());
  }
}
