import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a request came to, as counted by `opensim_requests_total`. */
export type RequestOutcome = 'applied' | 'rejected' | 'failed' | 'duplicate';
export type RequestKind = 'plan-change' | 'resource-order';

/** Reads a value at scrape time (queue depths, backlogs); resolves to the samples to set. */
export type GaugeReader = () => Promise<{ labels: Record<string, string>; value: number }[]>;

/**
 * The Prometheus metrics of one process, in a registry of its own (several systems can run in
 * one test process without adding up). Roles get it as `context.metrics` and call the small
 * functions below; nothing else in the code imports prom-client.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'opensim_requests_total',
    help: 'Inbound commands by kind and outcome; reason is the rejection reason code (or the failure kind), empty when applied',
    labelNames: ['kind', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly processing = new Histogram({
    name: 'opensim_processing_seconds',
    help: 'Time a worker spent on one command job, all attempts included',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly endToEnd = new Histogram({
    name: 'opensim_request_latency_seconds',
    help: 'From the command reaching the intake to its outcome being decided',
    labelNames: ['kind'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly thresholds = new Counter({
    name: 'opensim_threshold_crossings_total',
    help: 'opensim.threshold.crossed events taken by this process\'s threshold-alert consumer (first delivery), by threshold; sum over processes',
    labelNames: ['threshold'] as const,
    registers: [this.registry],
  });
  private readonly deadLettered = new Counter({
    name: 'opensim_dead_lettered_total',
    help: 'Dead letters written by this process, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'opensim_' });
  }

  /** One command decided (or found decided before: `duplicate`). */
  requestDecided(kind: RequestKind, outcome: RequestOutcome, reason: string | null = null, seconds?: { processing?: number; sinceReceived?: number }): void {
    this.requests.inc({ kind, outcome, reason: reason ?? '' });
    if (seconds?.processing !== undefined) this.processing.observe({ kind, outcome }, seconds.processing);
    if (seconds?.sinceReceived !== undefined && outcome !== 'duplicate') this.endToEnd.observe({ kind }, seconds.sinceReceived);
  }

  /** Hook for the monitoring roles: one `opensim.threshold.crossed` event (the alert consumer calls it). */
  thresholdCrossed(threshold: string): void {
    this.thresholds.inc({ threshold });
  }

  deadLetterWritten(reason: string): void {
    this.deadLettered.inc({ reason });
  }

  /**
   * A gauge whose samples are read when Prometheus scrapes (queue depths, outbox backlog).
   * A reader that fails or is slow leaves the last samples in place: a scrape never hangs on
   * a server that is down (readiness reports that).
   */
  gauge(name: string, help: string, labelNames: string[], read: GaugeReader, timeoutMs = 2000): void {
    const gauge = new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const samples = await withTimeout(read(), timeoutMs).catch(() => undefined);
        if (!samples) return;
        gauge.reset();
        for (const sample of samples) gauge.set(sample.labels, sample.value);
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
