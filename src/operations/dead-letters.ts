import { headers as natsHeaders, type JetStreamClient } from 'nats';
import type { Filter } from 'mongodb';
import type { Collections, DeadLetterDocument } from '../store/documents.js';

/**
 * Where dead letters come from (the `reason` of a dead letter). WEBHOOK_REJECTED: the alert
 * webhook refused a warning for good (a 4xx other than 408 and 429).
 */
import { DEAD_LETTER_REASONS, type DeadLetterReason } from '../store/dead-letter.js';

export { DEAD_LETTER_REASONS };
export type DeadLetterStatus = 'open' | 'retried' | 'discarded';

export interface DeadLetterFilter {
  account?: string;
  /** ISO instant: dead letters whose last failure is at or after it. */
  since?: string;
  reason?: DeadLetterReason;
  /** Default `open`. */
  status?: DeadLetterStatus | 'all';
}

export function statusOf(letter: Pick<DeadLetterDocument, 'status'>): DeadLetterStatus {
  return letter.status ?? 'open';
}

export function deadLetterQuery(filter: DeadLetterFilter): Filter<DeadLetterDocument> {
  const query: Filter<DeadLetterDocument> = {};
  if (filter.account !== undefined) query.clientAccountId = filter.account;
  if (filter.reason !== undefined) query.reason = filter.reason;
  if (filter.since !== undefined) query.lastAt = { $gte: filter.since };
  const status = filter.status ?? 'open';
  if (status === 'open') query.status = { $exists: false };
  else if (status !== 'all') query.status = status;
  return query;
}

/** Newest first. */
export async function listDeadLetters(c: Collections, filter: DeadLetterFilter, limit = 1000): Promise<DeadLetterDocument[]> {
  return c.deadLetters.find(deadLetterQuery(filter)).sort({ lastAt: -1 }).limit(limit).toArray();
}

export async function deadLetterCounts(c: Collections): Promise<Record<string, Record<DeadLetterStatus, number>>> {
  const counts: Record<string, Record<DeadLetterStatus, number>> = {};
  await Promise.all(
    DEAD_LETTER_REASONS.flatMap((reason) =>
      (['open', 'retried', 'discarded'] as const).map(async (status) => {
        counts[reason] ??= { open: 0, retried: 0, discarded: 0 };
        counts[reason][status] = await c.deadLetters.countDocuments(deadLetterQuery({ reason, status }));
      }),
    ),
  );
  return counts;
}

/** What came of one dead letter in an operator action: done, or why not. */
export type ActionResult = { id: string; done: true; detail: string } | { id: string; done: false; detail: string };

/**
 * Publishes the original message again to its subject, through JetStream, so it goes through
 * the intake, the queues and the idempotency checks like any message. The fresh Nats-Msg-Id
 * keeps JetStream's duplicate window from dropping it; the request id in the body is what
 * the pipeline deduplicates on, so a request decided meanwhile (or retried twice) changes
 * nothing more. The dead letter is kept, marked retried (by whom, when, how often).
 */
export async function retryDeadLetter(c: Collections, js: JetStreamClient, letter: DeadLetterDocument, by: string, now: string): Promise<ActionResult> {
  const id = letter._id;
  if (letter.status === 'discarded') return { id, done: false, detail: 'discarded' };
  // Its rejection is the request's outcome and was published: the same bytes would be refused again.
  if (letter.reason === 'INVALID_PAYLOAD') return { id, done: false, detail: 'INVALID_PAYLOAD is final (the request was rejected); fix the message upstream and publish it again' };
  if (!letter.subject || !letter.payload) return { id, done: false, detail: 'the original message was not kept' };
  const retries = (letter.retries ?? 0) + 1;
  const h = natsHeaders();
  for (const [key, value] of Object.entries(letter.headers ?? {})) {
    if (key.toLowerCase() !== 'nats-msg-id') h.set(key, value);
  }
  h.set('Opensim-Retry-Of', id);
  // Same id for the same (letter, retry number): two operators retrying at once publish once.
  await js.publish(letter.subject, letter.payload, { msgID: `retry:${id}:${retries}`, headers: h });
  await c.deadLetters.updateOne({ _id: id }, { $set: { status: 'retried', retriedAt: now, retriedBy: by }, $inc: { retries: 1 } });
  return { id, done: true, detail: `republished to ${letter.subject} (retry ${retries})` };
}

export async function discardDeadLetter(c: Collections, letter: DeadLetterDocument, by: string, now: string): Promise<ActionResult> {
  const id = letter._id;
  if (letter.status === 'discarded') return { id, done: false, detail: 'already discarded' };
  await c.deadLetters.updateOne({ _id: id }, { $set: { status: 'discarded', discardedAt: now, discardedBy: by } });
  return { id, done: true, detail: 'discarded' };
}
