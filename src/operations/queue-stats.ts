import type { Queue } from 'bullmq';
import type { JetStreamManager } from 'nats';
import { COMMAND_CONSUMER } from '../messaging/subjects.js';
import { isNotFound } from '../messaging/streams.js';
import type { Naming } from '../messaging/subjects.js';

export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueStats {
  queue: string;
  counts: Record<JobState, number>;
  /** Age of the job that has waited longest, null when none waits. */
  oldestWaitingMs: number | null;
  /** Jobs finished in the window, from BullMQ's per-minute metrics (kept a week in Redis). */
  completedInWindow: number;
  failedInWindow: number;
  /** failed / (completed + failed) in the window; null when nothing finished. */
  failureRate: number | null;
}

/** Counts per queue and state, oldest waiting age and failure rate over the last `windowMinutes`. */
export async function queueStats(queues: readonly Queue[], windowMinutes = 60, now = Date.now()): Promise<QueueStats[]> {
  return Promise.all(
    queues.map(async (queue) => {
      const [counts, oldest, completed, failed] = await Promise.all([
        queue.getJobCounts(...JOB_STATES),
        queue.getJobs(['wait'], 0, 0, true),
        finishedPerMinute(queue, 'completed', windowMinutes - 1),
        finishedPerMinute(queue, 'failed', windowMinutes - 1),
      ]);
      // BullMQ pushes a minute's count when the next job finishes in a later minute: what
      // finished since the last push is meta.count − meta.prevCount.
      const completedInWindow = completed.meta.count - completed.meta.prevCount + sum(completed.data);
      const failedInWindow = failed.meta.count - failed.meta.prevCount + sum(failed.data);
      const finished = completedInWindow + failedInWindow;
      return {
        queue: queue.name,
        counts: Object.fromEntries(JOB_STATES.map((s) => [s, counts[s] ?? 0])) as Record<JobState, number>,
        oldestWaitingMs: oldest[0] ? Math.max(0, now - oldest[0].timestamp) : null,
        completedInWindow,
        failedInWindow,
        failureRate: finished === 0 ? null : failedInWindow / finished,
      };
    }),
  );
}

export interface IntakeStats {
  stream: string;
  consumer: string;
  /** In the stream, not yet delivered to the intake. */
  pending: number;
  /** Delivered to an intake, not yet acknowledged (being enqueued). */
  ackPending: number;
  redelivered: number;
}

/**
 * The stage before the queues: commands waiting in JetStream for the intake, summed over its
 * consumers (`command-intake-<P>-<p>`, one per partition, and `command-intake` of earlier
 * versions). Null before any exists.
 */
export async function intakeStats(jsm: JetStreamManager, names: Naming): Promise<IntakeStats | null> {
  let consumers;
  try {
    consumers = await jsm.consumers.list(names.commandStream).next();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  const intake = consumers.filter((c) => c.name === COMMAND_CONSUMER || c.name.startsWith(`${COMMAND_CONSUMER}-`));
  if (intake.length === 0) return null;
  const sum = (pick: (c: (typeof intake)[number]) => number) => intake.reduce((total, c) => total + pick(c), 0);
  const consumer = intake.length === 1 ? intake[0]!.name : `${COMMAND_CONSUMER}-* (${intake.length})`;
  return { stream: names.commandStream, consumer, pending: sum((c) => c.num_pending), ackPending: sum((c) => c.num_ack_pending), redelivered: sum((c) => c.num_redelivered) };
}

/** The running minute (meta) and the `minutes` full minutes before it. */
async function finishedPerMinute(queue: Queue, type: 'completed' | 'failed', minutes: number) {
  // end -1 would mean "all": with no full minute wanted, read the meta alone.
  return minutes > 0 ? queue.getMetrics(type, 0, minutes - 1) : { ...(await queue.getMetrics(type, 0, 0)), data: [] };
}

function sum(values: readonly (number | string)[]): number {
  return values.reduce<number>((total, v) => total + Number(v), 0);
}
