import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { scanKeys } from '../infra/redis.js';
import { commandQueueName } from './command-queues.js';
import { intakeCoordinationKeys } from './intake-keys.js';

/**
 * How commands map to partition queues: by client account, over `P` queues, each under its
 * partition's hash tag. A change of that mapping (another P, the untagged queues or the
 * service-keyed mapping of earlier versions) would send the next command of a line to another
 * queue than the one its previous command waits in, and the two could run out of order. So the
 * intake switches only once every queue of the old mapping has drained: it records the mapping
 * it enqueues with, and on a change it waits, enqueuing nothing, until no job waits or runs in
 * any command queue, then records the new one. The workers run on every command queue that
 * exists (commandQueueNames), so the old ones drain.
 */
export function partitioningOf(partitions: number): string {
  return `account/${partitions}/tagged`;
}

export function partitioningKey(prefix: string): string {
  return intakeCoordinationKeys(prefix).partitioning;
}

/** The command queues that exist in Redis (any mapping, any count, tagged or not), and the configured ones. */
export async function commandQueueNames(redis: Redis, prefix: string, partitions: number): Promise<string[]> {
  const found = new Set(Array.from({ length: partitions }, (_, p) => commandQueueName(prefix, p)));
  const head = `bull:${prefix}-commands-`;
  for (const key of await scanKeys(redis, `${head}*:meta`)) {
    const name = key.slice('bull:'.length, -':meta'.length);
    // Ours: `<prefix>-commands-<n>` (earlier versions) or `<prefix>-commands-{<prefix>-p<n>}`.
    if (/^(\d+|\{.*-p\d+\})$/.test(name.slice(head.length - 'bull:'.length))) found.add(name);
  }
  return [...found].sort();
}

/** Jobs waiting (a paused queue's too), delayed or running in these command queues. */
export async function commandJobsInFlight(redis: Redis, names: readonly string[]): Promise<number> {
  let total = 0;
  for (const name of names) {
    const queue = new Queue(name, { connection: redis });
    const counts = await queue.getJobCounts('wait', 'active', 'prioritized', 'delayed', 'waiting-children');
    total += Object.values(counts).reduce((sum, n) => sum + n, 0);
    await queue.close();
  }
  return total;
}
