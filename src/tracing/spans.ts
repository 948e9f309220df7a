import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/**
 * The spans of the pipeline, over the OpenTelemetry API alone. Tracing is off unless
 * start-tracing.ts switched it on (the OTEL_* variables). While it is off, every helper here
 * returns at once, before touching the API: a process without tracing pays one boolean test per
 * step.
 */
let on = false;

/** Set by startTracing once a provider is registered (and back to false when it shuts down). */
export function setTracingOn(value: boolean): void {
  on = value;
}

export function tracingOn(): boolean {
  return on;
}

export const TRACER_NAME = 'opensim';

/** The W3C trace context of a message: `traceparent`, and `tracestate` when it has one. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** The context a W3C `traceparent` (from a message, a job, an event) continues; the root when there is none or it is malformed. */
export function contextOf(trace?: Partial<TraceContext>): Context {
  if (!trace?.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent: trace.traceparent, ...(trace.tracestate ? { tracestate: trace.tracestate } : {}) });
}

/** The W3C trace context of `ctx` (the active one by default), or undefined when tracing is off or no span is in it. */
export function traceContextOf(ctx: Context = context.active()): TraceContext | undefined {
  if (!on) return undefined;
  // The W3C propagator writes nothing for a context without a valid span.
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) } : undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: a context from a message (contextOf); the active context when absent. */
  parent?: Context;
}

/**
 * Runs `work` in a span named `name`, made the active one so that what `work` does (MongoDB
 * commands, events, publishes) nests under it. A thrown error marks the span and is rethrown.
 * Tracing off: `work(undefined)`, nothing else.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!on) return work(undefined);
  const parent = options.parent ?? context.active();
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, parent, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Starts a span that the caller ends (one that outlives a call: a message taken in by batch). */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  if (!on) return undefined;
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, options.parent ?? context.active());
}

/** Marks `span` as failed by `err`. */
export function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Runs `work` with `span` as the active span (its children nest under it); as is when tracing is off. */
export function withSpanActive<T>(span: Span | undefined, work: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), work) : work();
}

/** The active span (BullMQ's job span in a processor, say), to annotate; undefined when tracing is off. */
export function activeSpan(): Span | undefined {
  return on ? trace.getActiveSpan() : undefined;
}

/** Whether a span is active here (a job, a decision): a publish nests under it rather than under the event's stored context. */
export function hasActiveSpan(): boolean {
  return on && trace.getActiveSpan() !== undefined;
}

export { SpanKind, type Span };
