import type { Role, RoleContext } from '../platform/role.js';
import type { Pipeline } from '../platform/pipeline.js';
import { collectDeadLetters } from './dead-letters.js';
import type { Collections } from '../store/documents.js';

/** The collections whose documents carry an outbox (swept here, counted by /metrics). */
export function outboxCollections(c: Collections) {
  return [c.lines, c.requests, c.resources, c.deadLetters, c.lineMonths] as const;
}

/**
 * The safety net behind the workers' own publishing: on a timer it publishes every outbox
 * left behind (a crash between write and publish, NATS away), found by the markers written with
 * them (store/outbox-markers.ts: no query over every line, so a start at 1,000,000 lines scans
 * nothing), and collects dead letters.
 */
export class Relay implements Role {
  readonly name = 'relay';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private context!: RoleContext;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.context.config.OPENSIM_RELAY_INTERVAL_MS);
  }

  /** One pass; exposed so shutdown can flush a last time. */
  async tick(): Promise<void> {
    const { logger, config } = this.context;
    try {
      const c = this.pipeline.collections;
      const deps = { collections: c, references: this.pipeline.references, outbox: this.pipeline.outbox, prefix: config.OPENSIM_SUBJECT_PREFIX };
      const collected = await collectDeadLetters(deps, this.pipeline.queues.queues, logger);
      if (collected.length > 0) logger.warn({ deadLetters: collected.map((l) => l.letterId) }, 'dead-lettered');
      for (const letter of collected) {
        this.context.metrics.deadLetterWritten(letter.reason);
        if (letter.failedNow) this.context.metrics.requestDecided('plan-change', 'failed', letter.reason);
      }
      const sweeps = this.pipeline.outboxSweeps;
      const started = Date.now();
      if (!sweeps.due(started)) return;
      const grace = Math.max(1000, config.OPENSIM_RELAY_INTERVAL_MS);
      const marked = await this.pipeline.outbox.sweep(grace);
      const letters = await this.pipeline.outbox.sweepUnmarked(c.deadLetters, grace);
      const published = marked.published + letters.published;
      sweeps.swept(started, marked.complete && letters.complete);
      if (published > 0) logger.info({ published }, 'relay published pending events');
    } catch (err) {
      logger.debug({ err }, 'relay pass incomplete; next pass retries');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.tick();
  }
}
