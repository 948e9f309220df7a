import type { JsMsg, NatsConnection } from 'nats';
import { deadLetter, streamLetterId } from '../store/dead-letter.js';
import type { DeadLetterDocument } from '../store/documents.js';
import { parseUsage } from './parse-usage.js';
import type { UsageMessage } from './usage-writer.js';

/**
 * What the usage intake keeps of a delivered message until it is acknowledged: the subject
 * JetStream's acknowledgements go to, and the record already parsed (or its dead letter) — not
 * the message. A held JsMsg keeps its headers, its parsed metadata and, through its payload (a
 * view into the connection's read buffer), the whole buffer it arrived in: with 20,000 records in
 * flight that was most of the intake's memory under a burst (BENCHMARKS.md, "Usage memory").
 */
export interface HeldUsage {
  /**
   * `$JS.ACK…`: acknowledging is publishing a word there, as JsMsg.ack() does (nats.js's JsMsgImpl
   * exposes it as `reply`). A message without one is kept whole and acknowledged through it.
   */
  reply: string | JsMsg;
  receivedAt: number;
  parsed: { ok: true; message: UsageMessage } | { ok: false; letter: DeadLetterDocument; usageId: string | null; problem: string };
}

export function holdUsage(msg: JsMsg, usageStream: string, maxPayloadBytes: number, now: string): HeldUsage {
  const receivedAt = Date.now();
  const reply = (msg as JsMsg & { reply?: string }).reply || msg;
  const parsed = parseUsage(msg.subject, msg.data, msg.headers?.get('Nats-Msg-Id') || undefined, maxPayloadBytes);
  if (parsed.ok) {
    const message: UsageMessage = { seq: msg.seq, subject: msg.subject, record: parsed.record, month: parsed.month, redelivered: msg.info.redelivered, receivedAt };
    return { reply, receivedAt, parsed: { ok: true, message } };
  }
  const letter = deadLetter({
    id: streamLetterId(usageStream, msg.seq),
    kind: 'usage',
    reason: 'INVALID_PAYLOAD',
    message: { subject: msg.subject, data: msg.data, headers: msg.headers },
    requestId: parsed.usageId,
    clientAccountId: parsed.clientAccountId,
    attempts: 0,
    error: parsed.message,
    at: now,
  });
  return { reply, receivedAt, parsed: { ok: false, letter, usageId: parsed.usageId, problem: parsed.message } };
}

/** JetStream's acknowledgement words (nats.js jsmsg.ts), published to each message's reply subject. */
export type AckWord = '+ACK' | '+WPI' | '-NAK' | '+TERM';

export function acknowledge(nc: NatsConnection | undefined, held: readonly HeldUsage[], word: AckWord): void {
  for (const { reply } of held) {
    if (typeof reply !== 'string') ackThrough(reply, word);
    else if (nc && !nc.isClosed()) nc.publish(reply, word);
  }
}

function ackThrough(msg: JsMsg, word: AckWord): void {
  if (word === '+ACK') msg.ack();
  else if (word === '+WPI') msg.working();
  else if (word === '-NAK') msg.nak();
  else msg.term();
}
