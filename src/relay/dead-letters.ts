import type { Job, Queue } from 'bullmq';
import type { Logger } from '../logging/logger.js';
import { insertOnce } from '../store/insert-once.js';
import type { CommandJob } from '../queues/command-queues.js';
import { accountOf, bodyOf, isCommandJob, messageIdOf } from '../queues/command-queues.js';
import type { RetryProgress } from '../workers/command-worker.js';
import { decideFailed, type JobFailureReason } from '../workers/failed-decision.js';
import type { WorkerDeps } from '../workers/plan-change.js';
import { deadLetter } from '../store/dead-letter.js';
import type { DeadLetterDocument } from '../store/documents.js';

/** BullMQ's reason for a job failed because its workers stalled too often. */
const STALLED = /stalled more than allowable limit/;

export interface Collected {
  letterId: string;
  reason: JobFailureReason;
  requestId: string;
  /** This pass recorded the failure as the request's outcome (the worker could not: MongoDB was away, or the job stalled). */
  failedNow: boolean;
}

/**
 * Moves failed command jobs (retries exhausted, terminal error, stalled too often) from BullMQ's
 * failed set to MongoDB: first the failure as the request's decision (decideFailed: on the
 * line, with the `plan-change.failed` event), then the dead letter, then the job leaves Redis.
 * With MongoDB down, failed jobs wait in Redis, nothing is lost. A request applied or rejected
 * after all (by a worker that stalled and woke up first) is not dead-lettered: it has its outcome.
 */
export async function collectDeadLetters(deps: WorkerDeps, queues: Queue[], logger: Logger, batch = 100): Promise<Collected[]> {
  const collected: Collected[] = [];
  for (const queue of queues) {
    const failed = (await queue.getFailed(0, batch - 1)) as Job<CommandJob>[];
    for (const job of failed) {
      if (!job?.id) continue;
      const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<RetryProgress>;
      const reason: JobFailureReason = STALLED.test(job.failedReason ?? '') ? 'STALLED_TOO_OFTEN' : (progress.reason ?? 'RETRIES_EXHAUSTED');
      const failedAt = new Date(job.finishedOn ?? Date.now()).toISOString();
      const error = job.failedReason || progress.lastError || 'unknown error';
      const attempts = progress.attempts ?? job.attemptsStarted ?? 1;
      if (!isCommandJob(job.data)) {
        // Not a command (corrupt, or written by other code): kept as it is, for someone to look at.
        const letter = deadLetter({ id: `${queue.name}/${job.id}/${job.finishedOn ?? 0}`, kind: 'unknown', reason, message: { subject: '', data: JSON.stringify(job.data ?? null), headers: {} }, requestId: null, clientAccountId: null, attempts, error, at: failedAt });
        await insertOnce(deps.collections.deadLetters, letter);
        collected.push({ letterId: letter._id, reason, requestId: String(job.id), failedNow: false });
        await job.remove();
        continue;
      }
      const decided = await decideFailed(deps, job.data, { reason, attempts, lastError: error }, failedAt);
      if (decided.verdict === 'decided') {
        logger.warn({ jobId: job.id, requestId: messageIdOf(job.data), reason }, 'failed job not dead-lettered: its request was decided after all');
      } else {
        const letter = deadLetterOf(queue.name, job, { reason, attempts, error, failedAt, progress });
        await insertOnce(deps.collections.deadLetters, letter);
        collected.push({ letterId: letter._id, reason, requestId: messageIdOf(job.data), failedNow: decided.committedNow });
      }
      await job.remove();
    }
  }
  return collected;
}

function deadLetterOf(queueName: string, job: Job<CommandJob>, failure: { reason: JobFailureReason; attempts: number; error: string; failedAt: string; progress: Partial<RetryProgress> }): DeadLetterDocument {
  const command = job.data;
  const requestId = messageIdOf(command);
  // The failed outcome travels in the line's (or the decision record's) outbox, not here.
  return deadLetter({
    id: `${queueName}/${job.id}/${job.finishedOn ?? 0}`,
    kind: command.kind,
    reason: failure.reason,
    message: { subject: command.subject, data: JSON.stringify(bodyOf(command)), headers: { 'Nats-Msg-Id': requestId } },
    requestId,
    clientAccountId: accountOf(command),
    attempts: failure.attempts,
    error: failure.error,
    at: failure.failedAt,
    first: { error: failure.progress.firstError ?? failure.error, at: failure.progress.firstAt ?? failure.failedAt },
  });
}
