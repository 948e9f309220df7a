import type { Redis } from 'ioredis';
import { scanKeys } from '../../src/infra/redis.js';

/**
 * Redis losing what it acknowledged, for one deployment (its subject prefix): every key of the
 * deployment carries the prefix (BullMQ's `bull:<prefix>-…`, the intake's `opensim:<prefix>:…` and
 * `opensim:{<prefix>-p…}`), so deleting them is FLUSHALL as the deployment sees it, without
 * touching the other tests' keys on the shared server.
 */
export async function deploymentKeys(redis: Redis, prefix: string): Promise<string[]> {
  return scanKeys(redis, `*${prefix}*`);
}

/** Redis restarted without its files, or a failover to a replica that had nothing. */
export async function emptyRedis(redis: Redis, prefix: string): Promise<number> {
  const keys = await deploymentKeys(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
  return keys.length;
}

export interface RedisSnapshot {
  keys: { key: string; dump: Buffer; pttl: number }[];
}

/** DUMP of every key of the deployment, with its time to live. */
export async function snapshotRedis(redis: Redis, prefix: string): Promise<RedisSnapshot> {
  const keys = await deploymentKeys(redis, prefix);
  const taken = await Promise.all(keys.map(async (key) => ({ key, dump: await redis.dumpBuffer(key), pttl: await redis.pttl(key) })));
  return { keys: taken.filter((k): k is { key: string; dump: Buffer; pttl: number } => k.dump !== null && k.pttl !== -2) };
}

/**
 * A replica that missed the last writes, promoted: everything the deployment has now is gone and
 * the snapshot comes back, with its times to live, in one MULTI.
 */
export async function rollBackRedis(redis: Redis, prefix: string, snapshot: RedisSnapshot): Promise<void> {
  const now = await deploymentKeys(redis, prefix);
  const multi = redis.multi();
  if (now.length > 0) multi.del(...now);
  for (const { key, dump, pttl } of snapshot.keys) multi.restore(key, pttl > 0 ? pttl : 0, dump, 'REPLACE');
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw new Error(`roll back: ${failed?.[0]?.message ?? 'transaction aborted'}`);
}
