import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisTarget } from '../config/redis-url.js';

/**
 * Every Redis connection of the project is made here, from REDIS_URL:
 * - `redis://[user:password@]host:port[/db]` and `rediss://…` (TLS): one server, an ioredis `Redis`;
 * - `redis+cluster://[user:password@]host:port,host:port,…` and `rediss+cluster://…`: a Redis
 *   Cluster, an ioredis `Cluster`. The hosts are seeds: one that answers is enough, the client
 *   learns the others (CLUSTER SLOTS). The scheme says the topology, not the number of hosts, so a
 *   cluster reached through one address is still a cluster. A cluster has no databases: no path.
 * BullMQ takes either. In a cluster every key of one command, script or transaction must hash to
 * one slot: the keys of one queue share its name's hash tag (`name-{tag}`), and a transaction
 * across a partition's keys needs them all under one tag (docs/configuration.md).
 */
export type RedisClient = Redis | Cluster;

export { isClusterUrl, redisTarget, type RedisTarget } from '../config/redis-url.js';

/**
 * A connection to what `url` names. `options` are the per-connection options of ioredis
 * (`maxRetriesPerRequest`, `enableOfflineQueue`, …); for a cluster they apply to every node's
 * connection, and `enableOfflineQueue`/`lazyConnect` to the cluster client too.
 */
export function createRedis(url: string, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): RedisClient {
  const target = redisTarget(url);
  if (target.kind === 'server') return new Redis(url, options);
  const redisOptions: RedisOptions = {
    ...options,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  return new Cluster(target.nodes, {
    redisOptions,
    ...(options.enableOfflineQueue !== undefined ? { enableOfflineQueue: options.enableOfflineQueue } : {}),
    ...(options.lazyConnect !== undefined ? { lazyConnect: options.lazyConnect } : {}),
    ...clusterOptions,
  });
}

/** A new connection like `client`, with `options` changed (Redis and Cluster spell duplicate() differently). */
export function duplicateRedis(client: RedisClient, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): RedisClient {
  if (client instanceof Redis) return client.duplicate(options);
  const { enableOfflineQueue, lazyConnect, ...perNode } = options;
  return client.duplicate([], {
    redisOptions: { ...client.options.redisOptions, ...perNode },
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...clusterOptions,
  });
}

/**
 * A connection for fenced transactions (WATCH … MULTI … EXEC), one per transaction in flight:
 * WATCH belongs to a connection, and an EXEC on it clears every key watched there, another
 * transaction's too. Nothing of a transaction may be sent again elsewhere, which ioredis does by
 * default: after a reconnection it resends unanswered commands, and a Cluster client follows a
 * MOVED, ASK, TRYAGAIN or CLUSTERDOWN by sending the whole MULTI … EXEC again to the slot's new
 * node, where nothing is watched, so it runs unfenced. Here every such case fails the
 * transaction instead (maxRedirections 0): the caller calls `resyncTransactionConnection` and
 * starts again from WATCH. It has no offline queue: `await redisReady(connection)` before the
 * first command. test/cluster/fenced-transaction.cluster.spec.ts shows all of it.
 */
export function transactionConnection(client: RedisClient): RedisClient {
  return duplicateRedis(client, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 }, { maxRedirections: 0 });
}

/**
 * Resolves once the connection is ready to take commands at once. A connection without an
 * offline queue (a transaction's) refuses commands until then, and a Cluster client is "ready"
 * before its connections to the other masters are: the first command sent to one of them fails
 * ("Connection is closed") when nothing may redirect it (maxRedirections 0). So every master is
 * pinged through its own connection first.
 */
export async function redisReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (client.status !== 'ready') {
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        reject(new Error(`Redis not ready within ${timeoutMs} ms (status ${client.status})`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolvePromise();
      };
      client.once('ready', onReady);
    });
  }
  if (client instanceof Redis) return;
  for (;;) {
    const pinged = await Promise.allSettled(client.nodes('master').map((node) => node.ping()));
    const failed = pinged.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (!failed) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: a master does not answer within ${timeoutMs} ms: ${(failed.reason as Error).message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * After a fenced transaction failed on a transactionConnection to a Cluster: the slots are
 * learned again (a MOVED is not followed there) and every master answers, before the caller
 * starts again from WATCH. Nothing to do on a single server.
 */
export async function resyncTransactionConnection(client: RedisClient): Promise<void> {
  if (client instanceof Redis) return;
  await new Promise<void>((resolvePromise, reject) => client.refreshSlotsCache((err) => (err ? reject(err) : resolvePromise())));
  await redisReady(client);
}

/**
 * Every key matching `pattern`. SCAN names no key, so a Cluster client sends it to one node and
 * sees that node's keys only: here every master is scanned.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const nodes = client instanceof Redis ? [client] : client.nodes('master');
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Closes a connection: QUIT when it answers, else drop the sockets (QUIT would wait for a reply that never comes). */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
