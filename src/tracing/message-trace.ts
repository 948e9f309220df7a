import { headers as natsHeaders, type JetStreamPublishOptions, type MsgHdrs } from 'nats';
import { contextOf, hasActiveSpan, inSpan, SpanKind, tracingOn, type TraceContext } from './spans.js';

/** The W3C trace context an inbound message carries in its NATS headers (`traceparent`, `tracestate`). */
export function traceOfHeaders(h: MsgHdrs | undefined): TraceContext | undefined {
  const traceparent = h?.get('traceparent');
  if (!traceparent) return undefined;
  const tracestate = h?.get('tracestate');
  return { traceparent, ...(tracestate ? { tracestate } : {}) };
}

/** What an outbox entry holds that publishing needs: its id, subject, and the CloudEvent with its trace context. */
export interface TracedEntry {
  id: string;
  subject: string;
  event: Partial<TraceContext>;
}

/**
 * The JetStream options of an event: `Nats-Msg-Id` = the event id and, when the event was
 * decided in a trace, `traceparent` (and `tracestate`) headers equal to its CloudEvent's
 * distributed-tracing attributes, stored with it in the outbox: a re-publish after a crash sends
 * the same headers.
 */
export function publishOptions(entry: TracedEntry): Partial<JetStreamPublishOptions> {
  const { traceparent, tracestate } = entry.event;
  if (!traceparent) return { msgID: entry.id };
  const h = natsHeaders();
  h.set('traceparent', traceparent);
  if (tracestate) h.set('tracestate', tracestate);
  return { msgID: entry.id, headers: h };
}

/**
 * Runs the publish of `entries` in an `opensim.publish` span: under the active span (the job
 * publishing what it just decided), else under the trace the first event was decided in (the
 * relay publishing what a crash left). Events of no trace (background work) get no span.
 */
export function inPublishSpan<T>(entries: readonly TracedEntry[], work: () => Promise<T>): Promise<T> {
  if (!tracingOn() || entries.length === 0) return work();
  const active = hasActiveSpan();
  const stored = entries.find((entry) => entry.event.traceparent)?.event;
  if (!active && !stored) return work();
  const attributes = {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': entries[0]!.subject,
    'messaging.batch.message_count': entries.length,
    'opensim.event_ids': entries.map((entry) => entry.id),
  };
  return inSpan('opensim.publish', { kind: SpanKind.PRODUCER, attributes, ...(active ? {} : { parent: contextOf(stored) }) }, () => work());
}
