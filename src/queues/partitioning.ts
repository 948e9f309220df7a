import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { commandQueueName } from './command-queues.js';
import { intakeKeys } from './intake-keys.js';

/**
 * How commands map to partition queues: by client account, over `OPENSIM_PARTITIONS` queues.
 * A change of that mapping (another count, or the service-keyed mapping of earlier versions)
 * would send the next command of a line to another queue than the one its previous command
 * waits in, and the two could run out of order. So the intake switches only once every queue of
 * the old mapping has drained: it records the mapping it enqueues with, and on a change it waits,
 * enqueuing nothing, until no job waits or runs in any command queue, then records the new one.
 * The workers run on every command queue that exists (commandQueueIndexes), so the old ones drain.
 */
export function partitioningOf(partitions: number): string {
  return `account/${partitions}`;
}

export function partitioningKey(prefix: string): string {
  return intakeKeys(prefix).partitioning;
}

/** Indexes of the command queues that exist in Redis (any mapping, any count), and of the configured ones. */
export async function commandQueueIndexes(redis: Redis, prefix: string, partitions: number): Promise<number[]> {
  const found = new Set(Array.from({ length: partitions }, (_, p) => p));
  const pattern = `bull:${commandQueueName(prefix, 0).replace(/0$/, '')}*:meta`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const index = Number(/-commands-(\d+):meta$/.exec(key)?.[1]);
      if (Number.isInteger(index)) found.add(index);
    }
  } while (cursor !== '0');
  return [...found].sort((a, b) => a - b);
}

/** Jobs waiting (a paused queue's too) or running in the command queues of these indexes. */
export async function commandJobsInFlight(redis: Redis, prefix: string, indexes: readonly number[]): Promise<number> {
  let total = 0;
  for (const p of indexes) {
    const queue = new Queue(commandQueueName(prefix, p), { connection: redis });
    const counts = await queue.getJobCounts('wait', 'active', 'prioritized');
    total += Object.values(counts).reduce((sum, n) => sum + n, 0);
    await queue.close();
  }
  return total;
}
