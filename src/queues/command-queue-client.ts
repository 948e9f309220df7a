import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { commandJobId, commandQueueName, partitionOf, accountOf, type CommandJob } from './command-queues.js';

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
    return this.queues[partitionOf(accountOf(job), this.partitions)]!;
  }

  /**
   * Resolves once Redis holds the job. The same request id again is a no-op while the job
   * exists, except after a failure: a failed job keeps its id until the dead-letter collector
   * has copied it to MongoDB, and a request sent again meanwhile (upstream's own resend, or
   * `opensim dlq retry`) would vanish into it. It gets a job of its own instead, named after
   * the message that carried it (`deliveryKey`, the stream sequence), so a redelivery of that
   * message is still a no-op. MongoDB's decision record keeps it from taking effect twice.
   */
  async enqueue(job: CommandJob, deliveryKey?: string): Promise<void> {
    const queue = this.queueFor(job);
    let jobId = commandJobId(job);
    if (deliveryKey !== undefined && (await queue.getJobState(jobId)) === 'failed') jobId = `${jobId}@${deliveryKey}`;
    await queue.add(job.kind, job, {
      jobId,
      removeOnComplete: KEEP_COMPLETED,
      // Failed jobs stay until the dead-letter sweeper has copied them to MongoDB.
      removeOnFail: false,
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
