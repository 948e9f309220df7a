import type { MsgHdrs } from 'nats';
import { planChangeRejected, resourceOrderRejected, type DomainEvent } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { DeadLetterDocument } from '../store/documents.js';
import type { ParsedCommand } from './parse-command.js';

/** An inbound message as JetStream holds it: what a dead letter keeps of it. */
export interface RawMessage {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

/** The dead letter of a message in a stream: its sequence names it for good, whoever writes it. */
export function streamLetterId(stream: string, seq: number): string {
  return `${stream}:${seq}`;
}

export function headersOf(headers: MsgHdrs | undefined): Record<string, string> {
  return Object.fromEntries([...(headers?.keys() ?? [])].map((k) => [k, headers!.get(k)]));
}

/**
 * INVALID_PAYLOAD: the dead letter with the original bytes, and the `rejected` event in its
 * outbox. Its id is the stream sequence, so a redelivery finds the same letter and event.
 */
export function invalidPayloadLetter(prefix: string, letterId: string, raw: RawMessage, parsed: Extract<ParsedCommand, { ok: false }>, attempts: number, now: string): DeadLetterDocument {
  const event: DomainEvent =
    parsed.kind === 'plan-change'
      ? planChangeRejected({ requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, lineId: parsed.lineId, reason: 'INVALID_PAYLOAD', message: parsed.message }, `invalid-${letterId}`)
      : resourceOrderRejected({ orderId: parsed.messageId, clientAccountId: parsed.clientAccountId, resourceId: null, reason: 'INVALID_PAYLOAD', message: parsed.message }, `invalid-${letterId}`);
  return {
    _id: letterId,
    kind: parsed.kind,
    subject: raw.subject,
    payload: Buffer.from(raw.data).toString('utf8'),
    headers: headersOf(raw.headers),
    requestId: parsed.messageId,
    clientAccountId: parsed.clientAccountId,
    reason: 'INVALID_PAYLOAD',
    attempts,
    firstError: parsed.message,
    lastError: parsed.message,
    firstAt: now,
    lastAt: now,
    outbox: [toOutboxEntry(prefix, event, now)],
  };
}
