import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { headers, type Msg } from 'nats';
import { startTracing } from '../../src/tracing/start-tracing.js';
import { tracingOn } from '../../src/tracing/spans.js';
import { partitionOf } from '../../src/queues/command-queues.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import type { PipelineClient } from '../support/pipeline.js';
import { startOutcomePipeline, type OutcomePipeline } from '../support/traced-pipeline.js';

/**
 * With no OTEL_* variable set, tracing stays off: nothing is registered, no SDK module is
 * loaded, and a command carrying a traceparent goes through as before — its job and its outcome
 * carry no trace (the helpers return before touching the API).
 */
const ACC = 'TRC0';
const OTEL_UNSET = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));

describe('tracing off (no OTEL_* variable), real NATS, Redis and MongoDB', () => {
  let client: PipelineClient;
  let pipeline: OutcomePipeline | undefined;
  let outcomes: Msg[] = [];

  beforeAll(async () => {
    expect(await startTracing(OTEL_UNSET)).toBeNull();
    pipeline = await startOutcomePipeline(ACC);
    ({ client, outcomes } = pipeline);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('given no OTEL_* variable, then no provider is registered and no SDK or instrumentation is loaded', () => {
    expect(tracingOn()).toBe(false);
    // The API's no-op tracer: spans that record nothing, with the invalid (all-zero) trace id.
    const span = trace.getTracer('probe').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe('0'.repeat(32));
    span.end();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((path) => /@opentelemetry\/(sdk-|instrumentation|exporter-|resources)|bullmq-otel/.test(path))).toEqual([]);
  });

  it('given a plan change whose message carries a traceparent, then it is applied and neither its job nor its outcome carries a trace', async () => {
    const requestId = `notrace-${randomBytes(4).toString('hex')}`;
    const h = headers();
    h.set('Nats-Msg-Id', requestId);
    h.set('traceparent', `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`);
    const body = { requestId, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: new Date().toISOString(), requestedBy: 'crm-test' };
    await client.nc.jetstream().publish(`${client.prefix}.cmd.plan-change.${ACC}`, JSON.stringify(body), { headers: h });

    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === requestId);
    expect(applied).not.toHaveProperty('traceparent');
    const message = outcomes.find((m) => m.json<CloudEvent>().id === applied!.id)!;
    expect(message.headers?.get('Nats-Msg-Id')).toBe(applied!.id);
    expect(message.headers?.get('traceparent')).toBe('');
    const job = await client.queue(partitionOf(ACC, client.config.OPENSIM_PARTITIONS)).getJob(`pc_${requestId}`);
    expect(job?.data).not.toHaveProperty('traceparent');
    expect(job?.opts.telemetry).toBeUndefined();
  });
});
