import type { MsgHdrs } from 'nats';
import type { DeadLetterReason } from './dead-letter-reasons.js';
import type { DeadLetterDocument, OutboxEntry } from './documents.js';

export { DEAD_LETTER_REASONS, type DeadLetterReason } from './dead-letter-reasons.js';

/** What a dead letter keeps of the message it is about (the bytes as received, so it can be published again). */
export interface DeadMessage {
  subject: string;
  data: string | Uint8Array;
  headers: MsgHdrs | Record<string, string> | undefined;
}

export interface DeadLetterFacts {
  id: string;
  kind: DeadLetterDocument['kind'];
  reason: DeadLetterReason;
  message: DeadMessage;
  requestId: string | null;
  clientAccountId: string | null;
  attempts: number;
  /** The last error (or the refusal). */
  error: string;
  at: string;
  /** When and how it first failed, if earlier than the last. */
  first?: { error: string; at: string };
  /** Its outcome event, when the dead letter is what carries it. */
  outbox?: OutboxEntry[];
}

/** The one factory of dead letters: every origin builds its document here. */
export function deadLetter(facts: DeadLetterFacts): DeadLetterDocument {
  const { message } = facts;
  return {
    _id: facts.id,
    kind: facts.kind,
    subject: message.subject,
    payload: typeof message.data === 'string' ? message.data : Buffer.from(message.data).toString('utf8'),
    headers: headersOf(message.headers),
    requestId: facts.requestId,
    clientAccountId: facts.clientAccountId,
    reason: facts.reason,
    attempts: facts.attempts,
    firstError: facts.first?.error ?? facts.error,
    lastError: facts.error,
    firstAt: facts.first?.at ?? facts.at,
    lastAt: facts.at,
    outbox: facts.outbox ?? [],
  };
}

export function headersOf(headers: MsgHdrs | Record<string, string> | undefined): Record<string, string> {
  if (!headers) return {};
  if (typeof (headers as MsgHdrs).keys === 'function' && typeof (headers as MsgHdrs).get === 'function') {
    const h = headers as MsgHdrs;
    return Object.fromEntries([...h.keys()].map((k) => [k, h.get(k)]));
  }
  return { ...(headers as Record<string, string>) };
}

/** The dead letter of a message in a stream: its sequence names it for good, whoever writes it. */
export function streamLetterId(stream: string, seq: number): string {
  return `${stream}:${seq}`;
}
