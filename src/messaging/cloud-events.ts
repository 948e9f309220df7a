import type { CloudEvent } from '../contract/messages.js';
import type { DomainEvent } from '../domain/index.js';
import type { OutboxEntry } from '../store/documents.js';
import { eventSubject } from './subjects.js';
import { traceContextOf } from '../tracing/spans.js';

export const EVENT_SOURCE = 'urn:opensim:plan-change-worker';

/**
 * A domain event as an outbox entry: a CloudEvent 1.0 (structured JSON) whose id is the
 * event's deterministic key, so a re-emission carries the same id and consumers (and
 * JetStream's duplicate window, through Nats-Msg-Id) drop it. Decided inside a trace (tracing
 * on), it carries that trace's `traceparent` (CloudEvents' distributed-tracing extension),
 * stored with it in the outbox so a publish after a crash still carries it.
 */
export function toOutboxEntry(prefix: string, event: DomainEvent, time: string): OutboxEntry {
  const cloudEvent: CloudEvent = {
    specversion: '1.0',
    id: event.key,
    source: EVENT_SOURCE,
    type: event.type,
    time,
    subject: subjectOf(event),
    datacontenttype: 'application/json',
    data: event.data as unknown as Record<string, unknown>,
    ...traceContextOf(),
  };
  return { id: event.key, subject: eventSubject(prefix, event), event: cloudEvent };
}

/** The CloudEvent `subject`: what the event is about (the line, else the request or order). */
function subjectOf(event: DomainEvent): string {
  const data = event.data as { lineId?: string | null; requestId?: string | null; orderId?: string | null; resourceId?: string | null };
  return data.lineId ?? data.requestId ?? data.orderId ?? data.resourceId ?? 'unknown';
}
