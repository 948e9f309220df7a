import type { MsgHdrs } from 'nats';
import { planChangeCancelRejected, planChangeRejected, resourceOrderRejected, type DomainEvent } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { deadLetter } from '../store/dead-letter.js';
import type { DeadLetterDocument } from '../store/documents.js';
import type { ParsedCommand } from './parse-command.js';

/** An inbound message as JetStream holds it: what a dead letter keeps of it. */
export interface RawMessage {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

export { headersOf, streamLetterId } from '../store/dead-letter.js';

/**
 * INVALID_PAYLOAD: the dead letter with the original bytes, and the `rejected` event in its
 * outbox. Its id is the stream sequence, so a redelivery finds the same letter and event.
 */
export function invalidPayloadLetter(prefix: string, letterId: string, raw: RawMessage, parsed: Extract<ParsedCommand, { ok: false }>, attempts: number, now: string): DeadLetterDocument {
  const { messageId: id, clientAccountId, message } = parsed;
  const key = `invalid-${letterId}`;
  const event: DomainEvent =
    parsed.kind === 'plan-change'
      ? planChangeRejected({ requestId: id, clientAccountId, lineId: parsed.lineId, reason: 'INVALID_PAYLOAD', message }, key)
      : parsed.kind === 'resource-order'
        ? resourceOrderRejected({ orderId: id, clientAccountId, resourceId: null, reason: 'INVALID_PAYLOAD', message }, key)
        : planChangeCancelRejected({ cancelId: id, clientAccountId, requestId: null, reason: 'INVALID_PAYLOAD', message }, key);
  return deadLetter({
    id: letterId,
    kind: parsed.kind,
    reason: 'INVALID_PAYLOAD',
    message: raw,
    requestId: parsed.messageId,
    clientAccountId: parsed.clientAccountId,
    attempts,
    error: parsed.message,
    at: now,
    outbox: [toOutboxEntry(prefix, event, now)],
  });
}
