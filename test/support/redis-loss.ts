import type { Redis } from 'ioredis';
import { scanKeys } from '../../src/infra/redis.js';

/**
 * Redis losing what it acknowledged, for one deployment (its subject prefix): every key of the
 * deployment carries the prefix (BullMQ's `bull:<prefix>-…`, the intake's `opensim:<prefix>:…` and
 * `opensim:{<prefix>-p…}`), so deleting them is FLUSHALL as the deployment sees it, without
 * touching the other tests' keys on the shared server. An empty prefix is every key (the nemesis's
 * servers are its own).
 */
export async function deploymentKeys(redis: Redis, prefix: string): Promise<string[]> {
  return scanKeys(redis, `*${prefix}*`);
}

/**
 * Deletes every key matching a pattern in one script, so atomically as FLUSHALL is: a scan and
 * then a DEL would let the running system write between them, and leave half of its state (a job
 * whose hash survived, its list entry gone), which no real loss does. The keys are not declared:
 * this runs on the single test server only.
 */
const DELETE_MATCHING = `
local cursor, deleted = '0', 0
repeat
  local found = redis.call('scan', cursor, 'match', ARGV[1], 'count', 1000)
  cursor = found[1]
  for _, key in ipairs(found[2]) do deleted = deleted + redis.call('del', key) end
until cursor == '0'
return deleted`;

/** Redis restarted without its files, or a failover to a replica that had nothing. */
export async function emptyRedis(redis: Redis, prefix: string): Promise<number> {
  return Number(await redis.eval(DELETE_MATCHING, 0, `*${prefix}*`));
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
  const multi = redis.multi().eval(DELETE_MATCHING, 0, `*${prefix}*`);
  for (const { key, dump, pttl } of snapshot.keys) multi.restore(key, pttl > 0 ? pttl : 0, dump, 'REPLACE');
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw new Error(`roll back: ${failed?.[0]?.message ?? 'transaction aborted'}`);
}
