import type { BullMQOtel } from 'bullmq-otel';
import type { JobsOptions, Span as BullSpan, Telemetry } from 'bullmq';
import type { TraceContext } from './spans.js';

/** BullMQ's span name for a job being processed: `process <queue>` (its worker's `trace('process', …)`). */
const JOB_SPAN = /^process /;

/** Set by startTracing, which loads bullmq-otel only when tracing is on. */
let otel: BullMQOtel | undefined;

export function setJobTracer(tracer: BullMQOtel | undefined): void {
  otel = tracer;
}

/** What BullMQ's tracer gives for the spans left out: it only carries the context along. */
const UNTRACED: BullSpan = {
  setSpanOnContext: (ctx) => ctx,
  setAttribute: () => {},
  setAttributes: () => {},
  addEvent: () => {},
  recordException: () => {},
  end: () => {},
};

/**
 * The `telemetry` of a command worker when tracing is on: bullmq-otel, for the job's span only.
 * BullMQ also traces each fetch of the next job and each stalled-jobs check of every queue, idle
 * or not (a root trace every few seconds per partition, forever): those are left out. The job's
 * span continues the intake's trace through the job's `tm` option (`jobTraceOptions`), so
 * BullMQ's attributes (`bullmq.job.id`, `bullmq.queue.name`, attempts, completed/failed) sit in
 * the request's trace. Off: undefined, and BullMQ calls the processor as it is.
 */
export function jobTelemetry(): Telemetry | undefined {
  const traced = otel;
  if (!traced) return undefined;
  return {
    contextManager: traced.contextManager,
    tracer: { startSpan: (name, options, ctx) => (JOB_SPAN.test(name) ? traced.tracer.startSpan(name, options, ctx) : UNTRACED) },
  };
}

/**
 * The job option that carries a trace into BullMQ (`telemetry.metadata`, in bullmq-otel's form:
 * the W3C headers as JSON), for a job added by hand rather than through a traced `Queue.add`.
 */
export function jobTraceOptions({ traceparent, tracestate }: Partial<TraceContext>): Pick<JobsOptions, 'telemetry'> {
  return traceparent ? { telemetry: { metadata: JSON.stringify({ traceparent, ...(tracestate ? { tracestate } : {}) }) } } : {};
}
