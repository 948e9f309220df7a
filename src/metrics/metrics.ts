import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { THRESHOLD_NAMES } from '../domain/thresholds.js';
import { DEAD_LETTER_REASONS } from '../store/dead-letter.js';

/** What a request came to, as counted by `opensim_requests_total`. */
export type RequestOutcome = 'applied' | 'rejected' | 'failed' | 'duplicate' | 'scheduled' | 'cancelled';
export type RequestKind = 'plan-change' | 'resource-order' | 'plan-change-cancel';

export const USAGE_OUTCOMES = ['counted', 'duplicate', 'rejected', 'invalid'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];
export const WEBHOOK_RESULTS = ['delivered', 'retried', 'rejected', 'exhausted'] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];

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

  private readonly usageRecordsCounter = new Counter({
    name: 'opensim_usage_records_total',
    help: 'Usage records taken in by this process, by outcome: counted, duplicate (already counted), rejected (a rule said no), invalid (bad payload)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhookDeliveries = new Counter({
    name: 'opensim_webhook_deliveries_total',
    help: 'Warning webhook calls by result: delivered (2xx), retried (5xx, 408, 429, timeout, unreachable), rejected (other 4xx: dead-lettered), exhausted (retry cap reached: dead-lettered)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly expired = new Counter({
    name: 'opensim_expired_records_total',
    help: 'Records deleted by this process\'s expiry passes (past OPENSIM_RECORDS_RETENTION_DAYS), by collection',
    labelNames: ['collection'] as const,
    registers: [this.registry],
  });

  private readonly redisLosses = new Counter({
    name: 'opensim_redis_loss_detected_total',
    help: 'Times an intake partition found that Redis lost what it had taken in: kind empty (no cursor) or rolled-back (a cursor behind the acknowledged commands)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly unrecoverable = new Counter({
    name: 'opensim_redis_loss_unrecoverable_total',
    help: 'Redis losses whose commands after the checkpoint were partly gone from the command stream (older than OPENSIM_INBOUND_MAX_AGE_HOURS): the range is in the error log',
    registers: [this.registry],
  });
  private readonly retaken = new Counter({
    name: 'opensim_commands_retaken_total',
    help: 'Commands taken in again from the command stream after Redis lost them (those already decided are passed by the workers as duplicates)',
    registers: [this.registry],
  });

  constructor() {
    // Standard names (process_*, nodejs_*): stock Node.js dashboards find them.
    collectDefaultMetrics({ register: this.registry });
    for (const kind of ['empty', 'rolled-back']) this.redisLosses.inc({ kind }, 0);
    // Every known series starts at 0: increase() and rate() then see the first event too.
    for (const reason of DEAD_LETTER_REASONS) this.deadLettered.inc({ reason }, 0);
    for (const threshold of THRESHOLD_NAMES) this.thresholds.inc({ threshold }, 0);
    for (const outcome of USAGE_OUTCOMES) this.usageRecordsCounter.inc({ outcome }, 0);
    for (const result of WEBHOOK_RESULTS) this.webhookDeliveries.inc({ result }, 0);
    for (const collection of ['requests', 'usage', 'usageAttempts', 'notifications']) this.expired.inc({ collection }, 0);
  }

  /** Usage records of one batch, by outcome (the usage intake calls it once per batch written). */
  usageRecords(counts: Partial<Record<UsageOutcome, number>>): void {
    for (const [outcome, n] of Object.entries(counts)) if (n) this.usageRecordsCounter.inc({ outcome }, n);
  }

  webhookDelivery(result: WebhookResult): void {
    this.webhookDeliveries.inc({ result });
  }

  recordsExpired(collection: string, count: number): void {
    this.expired.inc({ collection }, count);
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

  redisLossDetected(kind: 'empty' | 'rolled-back'): void {
    this.redisLosses.inc({ kind });
  }

  commandsUnrecoverable(): void {
    this.unrecoverable.inc();
  }

  commandsRetaken(count: number): void {
    this.retaken.inc(count);
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
