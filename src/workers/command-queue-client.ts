import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { commandJobId, commandQueueName, partitionOf, serviceRefOf, type CommandJob } from './command-queues.js';

/** Finished jobs kept for inspection; the durable memory of decisions is in MongoDB, not here. */
const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };

/** The producer side of the partitioned command queues. */
export class CommandQueues {
  readonly queues: Queue[];

  constructor(
    prefix: string,
    readonly partitions: number,
    connection: Redis,
    onError: (err: Error) => void = () => {},
  ) {
    this.queues = Array.from({ length: partitions }, (_, p) => {
      const queue = new Queue(commandQueueName(prefix, p), { connection });
      // Connection errors surface here while Redis is away; readiness reports the outage.
      queue.on('error', onError);
      return queue;
    });
  }

  queueFor(job: CommandJob): Queue {
    return this.queues[partitionOf(serviceRefOf(job), this.partitions)]!;
  }

  /** Resolves once Redis holds the job. The same request id again is a no-op while the job exists. */
  async enqueue(job: CommandJob): Promise<void> {
    await this.queueFor(job).add(job.kind, job, {
      jobId: commandJobId(job),
      removeOnComplete: KEEP_COMPLETED,
      // Failed jobs stay until the dead-letter sweeper has copied them to MongoDB.
      removeOnFail: false,
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
