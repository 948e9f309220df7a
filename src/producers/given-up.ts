import type { StoredMsg } from 'nats';
import type { Collections, DeadLetterDocument } from '../store/documents.js';
import { requestKey } from '../store/documents.js';
import type { CommandQueues } from '../queues/command-queue-client.js';
import { accountOf, commandJobId, messageIdOf, type CommandJob } from '../queues/command-queues.js';
import { commandKindOf, publishedSubject } from '../messaging/subjects.js';
import { failedOutcome } from '../outbox/failed-outcome.js';
import { deadLetter, streamLetterId } from '../store/dead-letter.js';
import { invalidPayloadLetter } from './invalid-payload.js';
import { parseCommand } from './parse-command.js';

export interface GiveUpDeps {
  prefix: string;
  maxPayloadBytes: number;
  collections: Collections;
  queues: CommandQueues;
}

/** A command message given up on after `deliveries` tries: by JetStream (max_deliver) or by the intake. */
export interface GivenUp {
  stream: string;
  seq: number;
  deliveries: number;
  consumer: string;
  /** The message as the stream holds it; `null` if it is gone from the stream. */
  stored: StoredMsg | null;
}

export type GiveUpVerdict = { letter: DeadLetterDocument } | { inPipeline: string };

/**
 * The dead letter of a command message that could not be taken in (it crashed the intake each
 * time, say): MAX_DELIVERIES with a `plan-change.failed` outcome, or INVALID_PAYLOAD if it never
 * was a valid command. Named by its stream sequence, so the intake and the dead-letter collector
 * (JetStream's max-deliveries advisory) write the same letter. A command that reached BullMQ or
 * was decided after all (only its acknowledgement was lost) is not dead-lettered.
 */
export async function givenUpVerdict(deps: GiveUpDeps, given: GivenUp, now: string): Promise<GiveUpVerdict> {
  const letterId = streamLetterId(given.stream, given.seq);
  const error = `gave up after ${given.deliveries} deliveries to consumer '${given.consumer}'`;
  const { stored } = given;
  if (!stored) {
    return {
      letter: deadLetter({ id: letterId, kind: 'plan-change', reason: 'MAX_DELIVERIES', message: { subject: '', data: '', headers: {} }, requestId: null, clientAccountId: null, attempts: given.deliveries, error, at: now, first: { error: `${error}; the message is no longer in ${given.stream}`, at: now } }),
    };
  }
  // The subject upstream published on, not the partitioned one the stream stored: what a retry publishes to.
  const subject = publishedSubject(deps.prefix, stored.subject);
  const raw = { subject, data: stored.data, headers: stored.header };
  const kind = commandKindOf(deps.prefix, subject) ?? 'plan-change';
  const parsed = parseCommand(kind, subject, stored.data, stored.header?.get('Nats-Msg-Id') || undefined, now, deps.maxPayloadBytes);
  if (!parsed.ok) return { letter: invalidPayloadLetter(deps.prefix, letterId, raw, parsed, given.deliveries, now) };
  if (await reachedThePipeline(deps, parsed.job)) return { inPipeline: messageIdOf(parsed.job) };
  const failed = failedOutcome(deps.prefix, parsed.job, { attempts: given.deliveries, lastError: error }, now);
  return {
    letter: deadLetter({
      id: letterId,
      kind: parsed.job.kind,
      reason: 'MAX_DELIVERIES',
      message: raw,
      requestId: messageIdOf(parsed.job),
      clientAccountId: accountOf(parsed.job),
      attempts: given.deliveries,
      error,
      at: now,
      first: { error, at: stored.time.toISOString() },
      outbox: failed ? [failed] : [],
    }),
  };
}

/** Enqueued (BullMQ still holds the job) or already decided (MongoDB). */
async function reachedThePipeline(deps: GiveUpDeps, job: CommandJob): Promise<boolean> {
  if (await deps.queues.queueFor(job).getJob(commandJobId(job))) return true;
  return (await deps.collections.requests.findOne({ _id: requestKey(job.kind, messageIdOf(job)) })) !== null;
}
