import { ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import type { MsgHdrs } from 'nats';
import { traceOfHeaders } from './message-trace.js';
import { contextOf, failed, SpanKind, startSpan, traceContextOf, tracingOn, withSpanActive, type Span, type TraceContext } from './spans.js';

/** A command message as the intake holds it. */
export interface IntakeMessage {
  seq: number;
  subject: string;
  headers?: MsgHdrs | undefined;
}

/**
 * One `opensim.intake` span per command message of a batch, from the moment the batch is taken
 * up until its fenced commit (the job in Redis) or its failure. Each continues the trace of its
 * message's `traceparent` header, or starts one. The job carries the span's context on
 * (`traceOf`), so the worker's spans join the same trace. Tracing off: holds nothing.
 */
export class IntakeSpans {
  private readonly spans = new Map<number, Span>();

  constructor(messages: readonly IntakeMessage[], attributes: Attributes) {
    if (!tracingOn()) return;
    for (const m of messages) {
      const span = startSpan('opensim.intake', {
        kind: SpanKind.CONSUMER,
        parent: contextOf(traceOfHeaders(m.headers)),
        attributes: {
          ...attributes,
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': m.subject,
          'opensim.stream_seq': m.seq,
          ...(m.headers?.get('Nats-Msg-Id') ? { 'messaging.message.id': m.headers.get('Nats-Msg-Id') } : {}),
        },
      });
      if (span) this.spans.set(m.seq, span);
    }
  }

  /** The trace context a message's job carries on (its intake span's). */
  traceOf(seq: number): TraceContext | undefined {
    const span = this.spans.get(seq);
    return span ? traceContextOf(trace.setSpan(ROOT_CONTEXT, span)) : undefined;
  }

  /** Runs `work` under a message's span (what it writes and publishes, a rejection, nests there). */
  within<T>(seq: number, work: () => T): T {
    return withSpanActive(this.spans.get(seq), work);
  }

  annotate(seq: number, attributes: Attributes): void {
    this.spans.get(seq)?.setAttributes(attributes);
  }

  /** Ends every span: taken in, or `err` (the batch is taken in again, by this holder or the next). */
  end(err?: unknown): void {
    for (const span of this.spans.values()) {
      if (err !== undefined) failed(span, err);
      span.end();
    }
    this.spans.clear();
  }
}
