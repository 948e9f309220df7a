import { Job, Queue } from 'bullmq';
import type { IntakeKeys } from '../queues/intake-keys.js';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../infra/redis.js';
import { commandJobId, commandQueueName, type CommandJob } from '../queues/command-queues.js';
import { jobTraceOptions } from '../tracing/job-telemetry.js';

/** Finished jobs kept for inspection; the durable memory of decisions is in MongoDB, not here. */
const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };

/**
 * Moves the cursor, inside the transaction that adds the jobs, only if every job is really in
 * Redis: an add that failed (it is still one command of the transaction, which Redis runs
 * regardless) leaves the cursor where it was, so the message is taken in again.
 *   KEYS: cursor, attempts, then the key of each job. ARGV: expected cursor, new cursor, then the
 *   sequences whose attempt counts are cleared.
 */
const ADVANCE = `
local at = redis.call('get', KEYS[1])
if at ~= ARGV[1] then return redis.error_reply('OPENSIM_CURSOR_MOVED ' .. tostring(at)) end
for i = 3, #KEYS do
  if redis.call('exists', KEYS[i]) == 0 then return redis.error_reply('OPENSIM_JOB_MISSING ' .. KEYS[i]) end
end
redis.call('set', KEYS[1], ARGV[2])
if #ARGV > 2 then redis.call('hdel', KEYS[2], unpack(ARGV, 3)) end
return 1`;

/** One stream message taken in: its job, or none (refused as INVALID_PAYLOAD, or given up on). */
export interface TakenIn {
  seq: number;
  job: CommandJob | null;
}

export type CommitResult = 'committed' | 'lease-lost';

export { intakeKeys, type IntakeKeys } from '../queues/intake-keys.js';

/**
 * The commands of one intake partition taken in, as a cursor over the command stream: every
 * message of the partition up to the stream sequence `cursor` has its job in a command queue,
 * and each is taken in once, in stream order. The jobs and the cursor move together in one
 * Redis transaction that runs only while this process holds the partition's lease (WATCH on the
 * lease key, then its token checked): a process that stalled past its lease and wakes up
 * mid-enqueue adds nothing, whatever its own clock believes. The lease's token is the fencing
 * token, and Redis, where the jobs go, is the store that checks it.
 *
 * The transaction needs a connection of its own (transactionConnection): WATCH belongs to a
 * connection, and nothing else may run on it between WATCH and EXEC. On a Redis Cluster every
 * key of the transaction carries the partition's hash tag (intake-keys.ts), so it runs on one node.
 */
export class IntakeCursor {
  private readonly queues = new Map<number, Queue>();

  /** `queueIndex` says which command queue a job goes to. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: IntakeKeys,
    private readonly prefix: string,
    private readonly queueIndex: (job: CommandJob) => number,
  ) {}

  /** The stream sequence of the last message taken in, or `null` when no intake ever ran with this cursor. */
  async read(): Promise<number | null> {
    const at = await this.redis.get(this.keys.cursor);
    return at === null ? null : Number(at);
  }

  /**
   * Starts the cursor where the consumer's acknowledgements say everything was taken in (the
   * intake acknowledges only after the enqueue), if no cursor exists yet. Fenced like a commit.
   */
  async initialise(token: string, at: number): Promise<CommitResult> {
    return this.fenced(token, (multi) => multi.set(this.keys.cursor, String(at), 'NX'));
  }

  /**
   * Moves the cursor back to `at` after Redis lost what it had taken in (partition-intake.ts,
   * startingCursor): the commands after it are taken in again. Fenced like a commit.
   */
  async reset(token: string, at: number): Promise<CommitResult> {
    return this.fenced(token, (multi) => multi.set(this.keys.cursor, String(at)));
  }

  /**
   * Adds the jobs of the messages `taken` (the partition's next ones after `expected`, in stream
   * order) and moves the cursor to the last of them, if this process still holds the lease (token).
   */
  async commit(token: string, expected: number, taken: readonly TakenIn[]): Promise<CommitResult> {
    taken.forEach((t, k) => {
      const before = k === 0 ? expected : taken[k - 1]!.seq;
      if (t.seq <= before) throw new Error(`intake: sequence ${t.seq} taken in after ${before}`);
    });
    const jobs = taken.filter((t): t is TakenIn & { job: CommandJob } => t.job !== null);
    // A failed job keeps its id until the dead-letter collector has copied it to MongoDB, and a
    // request sent again meanwhile (upstream's resend, `opensim dlq retry`) would vanish into it:
    // it gets a job of its own, named after its message. The job key is watched too, so a job
    // that fails between this look and the commit makes the commit start again.
    const placed = await Promise.all(
      jobs.map(async ({ seq, job }) => {
        const queue = this.queueFor(job);
        const id = commandJobId(job);
        return { queue, job, jobId: (await queue.getJobState(id)) === 'failed' ? `${id}@${seq}` : id };
      }),
    );
    const last = taken.at(-1)?.seq ?? expected;
    return this.fenced(
      token,
      (multi) => {
        for (const { queue, job, jobId } of placed) {
          // The trace in BullMQ's own option too: its worker telemetry starts the job's span from it.
          void new Job(queue, job.kind, job, { jobId, removeOnComplete: KEEP_COMPLETED, removeOnFail: false, ...jobTraceOptions(job) }, jobId).addJob(multi as never);
        }
        // Per-line order rests on the queue's global concurrency of 1, which Redis alone holds: set
        // with the jobs, no job is ever in a queue that lost it (a Redis that came back empty).
        for (const queue of new Set(placed.map((p) => p.queue))) multi.hset(queue.toKey('meta'), { concurrency: '1' });
        const keys = [this.keys.cursor, this.keys.attempts, ...placed.map(({ queue, jobId }) => queue.toKey(jobId))];
        multi.eval(ADVANCE, keys.length, ...keys, String(expected), String(last), ...taken.map((t) => String(t.seq)));
      },
      placed.map(({ queue, jobId }) => queue.toKey(jobId)),
      expected,
    );
  }

  /** Counts one more attempt at taking a message in (a crash in the middle counts); returns the count. */
  async countAttempt(seq: number): Promise<number> {
    return this.redis.hincrby(this.keys.attempts, String(seq), 1);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
  }

  private queueFor(job: CommandJob): Queue {
    return this.queue(this.queueIndex(job));
  }

  private queue(index: number): Queue {
    let queue = this.queues.get(index);
    if (!queue) {
      queue = new Queue(commandQueueName(this.prefix, index), { connection: this.redis as Redis });
      queue.on('error', () => {});
      this.queues.set(index, queue);
    }
    return queue;
  }

  /** Runs `build`'s commands in one transaction, only if the lease is still `token`'s and unchanged until EXEC. */
  private async fenced(token: string, build: (multi: ReturnType<Redis['multi']>) => void, alsoWatched: string[] = [], expected?: number): Promise<CommitResult> {
    for (;;) {
      await this.redis.watch(this.keys.lease, this.keys.cursor, ...alsoWatched);
      const [holder, at] = await this.redis.mget(this.keys.lease, this.keys.cursor);
      if (holder !== token) {
        await this.redis.unwatch();
        return 'lease-lost';
      }
      if (expected !== undefined && at !== String(expected)) {
        await this.redis.unwatch();
        throw new Error(`OPENSIM_CURSOR_MOVED: the cursor is at ${at}, not ${expected}`);
      }
      // BullMQ's view of the same connection: its job scripts are defined on it.
      const multi = (await this.queue(0).backend.client).multi() as unknown as ReturnType<Redis['multi']>;
      build(multi);
      const results = await multi.exec();
      // A watched key changed: the lease was taken (the next round says so), or a job's state moved.
      if (results === null) continue;
      const failure = results.find(([err]) => err);
      if (failure) throw failure[0];
      return 'committed';
    }
  }
}
