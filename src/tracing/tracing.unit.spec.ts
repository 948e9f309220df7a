import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { planChangeRejected } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { cloudEventSchema } from '../contract/messages.js';
import { tracingSettings } from './settings.js';
import { startTracing, type Tracing } from './start-tracing.js';
import { contextOf, inSpan, tracingOn } from './spans.js';
import { inPublishSpan, publishOptions } from './message-trace.js';
import { jobTelemetry, jobTraceOptions } from './job-telemetry.js';

describe('tracingSettings: which OTEL_* variables switch tracing on', () => {
  it.each([
    [{}, { on: false }],
    [{ OTEL_SERVICE_NAME: 'opensim-eu' }, { on: false }],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, { on: true, exporter: 'otlp' }],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, { on: true, exporter: 'otlp' }],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, { on: true, exporter: 'otlp' }],
    [{ OTEL_TRACES_EXPORTER: 'console' }, { on: true, exporter: 'console' }],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, { on: false }],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, { on: false }],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, { on: false }],
  ])('given %j, then %j', (env, expected) => {
    expect(tracingSettings(env)).toEqual(expected);
  });

  it('given an exporter this service does not know, then start-up is refused naming the variable', () => {
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER: unknown exporter 'jaeger'/);
  });
});

const rejected = (requestId: string) => planChangeRejected({ requestId, clientAccountId: 'ACC', lineId: 'L1', reason: 'UNKNOWN_LINE', message: 'no such line' });

describe('events and publishes while tracing is on (in-memory exporter)', () => {
  const memory = new InMemorySpanExporter();
  let tracing: Tracing | null;
  beforeAll(async () => {
    tracing = await startTracing({ OTEL_TRACES_EXPORTER: 'otlp' }, { exporter: memory });
  });
  afterAll(async () => {
    await tracing?.shutdown();
    expect(tracingOn()).toBe(false);
  });

  it('given an event decided inside a span, then its CloudEvent carries that span as traceparent, valid for the contract, and its publish sends the same header', async () => {
    const entry = await inSpan('opensim.decision', {}, async (span) => {
      const made = toOutboxEntry('os', rejected('r1'), '2026-11-30T00:00:00Z');
      expect(made.event.traceparent).toBe(`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);
      return made;
    });
    expect(cloudEventSchema.parse(entry.event)).toMatchObject({ traceparent: entry.event.traceparent });
    const options = publishOptions(entry);
    expect(options.msgID).toBe(entry.id);
    expect(options.headers?.get('traceparent')).toBe(entry.event.traceparent);
  });

  it('given an event decided outside any span, then it carries no trace, its publish no header, and publishing it makes no span', async () => {
    const entry = toOutboxEntry('os', rejected('r2'), '2026-11-30T00:00:00Z');
    expect(entry.event).not.toHaveProperty('traceparent');
    expect(publishOptions(entry)).toEqual({ msgID: entry.id });
    memory.reset();
    await inPublishSpan([entry], async () => {});
    expect(memory.getFinishedSpans()).toEqual([]);
  });

  it('given a stored entry published later with no span active (the relay after a crash), then the publish span joins the trace the event was decided in', async () => {
    const entry = await inSpan('opensim.decision', {}, async () => toOutboxEntry('os', rejected('r3'), '2026-11-30T00:00:00Z'));
    memory.reset();
    await inPublishSpan([entry], async () => {});
    const [publish] = memory.getFinishedSpans();
    const [, traceId, spanId] = entry.event.traceparent!.split('-');
    expect(publish).toMatchObject({ name: 'opensim.publish', attributes: { 'messaging.system': 'nats', 'opensim.event_ids': [entry.id] } });
    expect(publish!.spanContext().traceId).toBe(traceId);
    expect(publish!.parentSpanContext?.spanId).toBe(spanId);
  });

  it('given an inbound traceparent, then a span under contextOf continues it; a malformed one starts a new trace', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await inSpan('opensim.intake', { parent: contextOf({ traceparent }) }, async (span) => {
      expect(span!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    });
    await inSpan('opensim.intake', { parent: contextOf({ traceparent: 'garbage' }) }, async (span) => {
      expect(span!.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
    });
  });

  it("given tracing on, then command workers get BullMQ telemetry that traces the job only, and a job's trace goes in BullMQ's option", () => {
    const telemetry = jobTelemetry()!;
    expect(telemetry).toBeDefined();
    memory.reset();
    telemetry.tracer.startSpan('getNextJob q', { kind: 0 }).end();
    telemetry.tracer.startSpan('process q', { kind: 4 }).end();
    expect(memory.getFinishedSpans().map((s) => s.name)).toEqual(['process q']);
    expect(jobTraceOptions({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })).toEqual({ telemetry: { metadata: '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}' } });
    expect(jobTraceOptions({})).toEqual({});
  });
});
