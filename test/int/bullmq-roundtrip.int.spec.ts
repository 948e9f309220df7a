import { afterAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { services, uniqueName } from '../support/services.js';

describe('BullMQ on Redis (real server)', () => {
  const queueName = uniqueName('rt');
  const connection = new Redis(services().redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  });

  it('given a worker, when a job is added, then it is processed once and its return value is stored', async () => {
    const seen: string[] = [];
    // BullMQ does not close connections it was given: the test owns and quits them.
    const workerConnection = connection.duplicate();
    const eventsConnection = connection.duplicate();
    const worker = new Worker(
      queueName,
      async (job) => {
        seen.push(job.id!);
        return { doubled: (job.data as { n: number }).n * 2 };
      },
      { connection: workerConnection },
    );
    const events = new QueueEvents(queueName, { connection: eventsConnection });
    await events.waitUntilReady();

    const job = await queue.add('double', { n: 21 }, { jobId: 'job-1' });
    // Same job id again: BullMQ keeps the first and does not enqueue a second.
    await queue.add('double', { n: 99 }, { jobId: 'job-1' });
    const result = await job.waitUntilFinished(events, 10_000);

    expect(result).toEqual({ doubled: 42 });
    expect(seen).toEqual(['job-1']);
    await worker.close();
    await events.close();
    await Promise.all([workerConnection.quit(), eventsConnection.quit()]);
  });
});
