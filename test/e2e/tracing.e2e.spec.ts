import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { headers, type Msg } from 'nats';
import { startTracing, type Tracing } from '../../src/tracing/start-tracing.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import { partitionOf } from '../../src/queues/command-queues.js';
import type { PipelineClient } from '../support/pipeline.js';
import { startOutcomePipeline, type OutcomePipeline } from '../support/traced-pipeline.js';

/**
 * Tracing on, exported to memory: one plan change whose inbound message carries a traceparent
 * is one trace, from the intake to the publish of its outcome, and the outcome continues it.
 * The pipeline is imported only after tracing starts, as the entry points do: the MongoDB
 * instrumentation patches the driver as it loads.
 */
const ACC = 'TRC1';
const memory = new InMemorySpanExporter();

describe('tracing on (OTEL_TRACES_EXPORTER set), real NATS, Redis and MongoDB', () => {
  let tracing: Tracing | null;
  let client: PipelineClient;
  let pipeline: OutcomePipeline | undefined;
  let outcomes: Msg[] = [];

  beforeAll(async () => {
    tracing = await startTracing({ OTEL_TRACES_EXPORTER: 'otlp' }, { exporter: memory });
    pipeline = await startOutcomePipeline(ACC);
    ({ client, outcomes } = pipeline);
  });
  afterAll(async () => {
    await pipeline?.stop();
    await tracing?.shutdown();
  });

  it('given a plan change whose message carries a traceparent, then one trace holds its intake, job, decision, MongoDB and publish spans, and its outcome carries the trace id as header and CloudEvent attribute', async () => {
    expect(tracing).not.toBeNull();
    // What tracing-off.e2e.spec.ts finds absent is loaded here (so its check can fail).
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((path) => path.includes('@opentelemetry/instrumentation-mongodb'))).toBe(true);
    expect(loaded.some((path) => path.includes('bullmq-otel'))).toBe(true);
    const traceId = randomBytes(16).toString('hex');
    const upstreamSpan = randomBytes(8).toString('hex');
    const requestId = `trace-${randomBytes(4).toString('hex')}`;
    const h = headers();
    h.set('Nats-Msg-Id', requestId);
    h.set('traceparent', `00-${traceId}-${upstreamSpan}-01`);
    const body = { requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: new Date().toISOString(), requestedBy: 'crm-test' };
    await client.nc.jetstream().publish(`${client.prefix}.cmd.plan-change.${ACC}`, JSON.stringify(body), { headers: h });

    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === requestId);
    // The CloudEvents distributed-tracing attribute, in the event JSON.
    const attribute = (applied as CloudEvent & { traceparent?: string }).traceparent;
    expect(attribute).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The NATS header, equal to it.
    const message = outcomes.find((m) => m.json<CloudEvent>().id === applied!.id)!;
    expect(message.headers?.get('traceparent')).toBe(attribute);
    expect(message.headers?.get('Nats-Msg-Id')).toBe(applied!.id);

    // The job carried the intake's context: in its data, and in BullMQ's telemetry option.
    const job = await client.queue(partitionOf(ACC, client.config.OPENSIM_PARTITIONS)).getJob(`pc_${requestId}`);
    expect(job?.data.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
    expect(JSON.parse(job!.opts.telemetry!.metadata!)).toEqual({ traceparent: job!.data.traceparent });

    // Spans end a moment after the event: the job's when BullMQ has moved it to completed.
    const spans = await spansOf(traceId, (all) => all.some((s) => s.name.startsWith('process ')));
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const [intake] = byName('opensim.intake');
    const [jobSpan] = spans.filter((s) => s.name.startsWith('process '));
    const [decision] = byName('opensim.decision');
    const publishes = byName('opensim.publish');
    const mongo = spans.filter((s) => s.attributes['db.system.name'] === 'mongodb');
    const counts = { total: spans.length, intake: byName('opensim.intake').length, job: spans.filter((s) => s.name.startsWith('process ')).length, decision: byName('opensim.decision').length, mongo: mongo.length, publish: publishes.length };
    console.log(`trace ${traceId}: ${JSON.stringify(counts)}; MongoDB spans: ${[...new Set(mongo.map((s) => s.name))].join(', ')}`);
    expect(counts).toMatchObject({ intake: 1, job: 1, decision: 1 });
    expect(mongo.length).toBeGreaterThan(0);
    expect(publishes.length).toBeGreaterThan(0);

    // One tree: upstream -> intake -> job -> decision -> MongoDB commands and the publish.
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    expect(parentOf(intake!)).toBe(upstreamSpan);
    expect(intake!.attributes).toMatchObject({ 'opensim.request_id': requestId, 'opensim.intake.result': 'enqueued', 'messaging.destination.name': `${client.prefix}.cmd.plan-change.${ACC}` });
    expect(parentOf(jobSpan!)).toBe(intake!.spanContext().spanId);
    expect(jobSpan!.attributes).toMatchObject({ 'bullmq.job.id': `pc_${requestId}`, 'opensim.request_id': requestId, 'opensim.line_id': `${ACC}-L0` });
    expect(parentOf(decision!)).toBe(jobSpan!.spanContext().spanId);
    expect(decision!.attributes).toMatchObject({ 'opensim.outcome': 'applied', 'opensim.attempt': 1 });
    const ids = new Set(spans.map((s) => s.spanContext().spanId));
    for (const s of [...mongo, ...publishes]) expect(ids.has(parentOf(s)!), `${s.name} nests in the trace`).toBe(true);
    expect(publishes.some((p) => parentOf(p) === decision!.spanContext().spanId)).toBe(true);
    // The event was decided in the decision span: its traceparent names it.
    expect(attribute).toBe(`00-${traceId}-${decision!.spanContext().spanId}-01`);
    // MongoDB statements are recorded without their values.
    expect(mongo.map((s) => String(s.attributes['db.query.text'] ?? ''))).not.toContainEqual(expect.stringContaining(ACC));

    // No span of this request lies in another trace.
    const elsewhere = memory.getFinishedSpans().filter((s) => s.spanContext().traceId !== traceId && s.attributes['opensim.request_id'] === requestId);
    expect(elsewhere).toEqual([]);
  });
});

/** The finished spans of one trace, once `complete` says they are all there (at most 10 s). */
async function spansOf(traceId: string, complete: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (complete(spans)) return spans;
    if (Date.now() > deadline) throw new Error(`trace ${traceId} incomplete: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
