import type { Job, Queue } from 'bullmq';
import { insertOnce } from '../store/insert-once.js';
import { failedOutcome } from '../workers/failed-outcome.js';
import type { CommandJob } from '../workers/command-queues.js';
import { messageIdOf } from '../workers/command-queues.js';
import type { RetryProgress } from '../workers/command-worker.js';
import type { Collections, DeadLetterDocument } from '../store/documents.js';

/**
 * Moves failed command jobs (retries exhausted, terminal error, stalled too often) from
 * BullMQ's failed set to the `deadLetters` collection, with the `plan-change.failed` event in
 * the dead letter's outbox, then removes the job from Redis. The job leaves Redis only once
 * MongoDB holds it: with MongoDB down, failed jobs wait in Redis, nothing is lost.
 */
export async function collectDeadLetters(queues: Queue[], c: Collections, prefix: string, batch = 100): Promise<string[]> {
  const collected: string[] = [];
  for (const queue of queues) {
    const failed = (await queue.getFailed(0, batch - 1)) as Job<CommandJob>[];
    for (const job of failed) {
      if (!job?.id) continue;
      const letter = deadLetterOf(queue.name, job, prefix);
      await insertOnce(c.deadLetters, letter);
      await job.remove();
      collected.push(letter._id);
    }
  }
  return collected;
}

function deadLetterOf(queueName: string, job: Job<CommandJob>, prefix: string): DeadLetterDocument {
  const command = job.data;
  const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<RetryProgress>;
  const failedAt = new Date(job.finishedOn ?? Date.now()).toISOString();
  const error = job.failedReason || progress.lastError || 'unknown error';
  const attempts = progress.attempts ?? job.attemptsStarted ?? 1;
  const requestId = messageIdOf(command);
  const clientAccountId = command.kind === 'plan-change' ? command.request.clientAccountId : command.order.clientAccountId;
  const failed = failedOutcome(prefix, command, { attempts, lastError: error }, failedAt);
  return {
    _id: `${queueName}/${job.id}/${job.finishedOn ?? 0}`,
    kind: command.kind,
    subject: command.subject,
    payload: JSON.stringify(command.kind === 'plan-change' ? command.request : command.order),
    headers: { 'Nats-Msg-Id': requestId },
    requestId,
    clientAccountId,
    reason: 'RETRIES_EXHAUSTED',
    attempts,
    firstError: progress.firstError ?? error,
    lastError: error,
    firstAt: progress.firstAt ?? failedAt,
    lastAt: failedAt,
    outbox: failed ? [failed] : [],
  };
}
