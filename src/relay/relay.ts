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
 * left behind (a crash between write and publish, NATS away) and collects dead letters.
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
      const letters = await collectDeadLetters(deps, this.pipeline.queues.queues, logger);
      if (letters.length > 0) logger.warn({ deadLetters: letters.map((l) => l.letterId) }, 'dead-lettered');
      for (const letter of letters) {
        this.context.metrics.deadLetterWritten(letter.reason);
        if (letter.failedNow) this.context.metrics.requestDecided('plan-change', 'failed', letter.reason);
      }
      const sweeps = this.pipeline.outboxSweeps;
      const started = Date.now();
      if (!sweeps.due(started)) return;
      let published = 0;
      let complete = true;
      for (const collection of outboxCollections(c)) {
        const swept = await this.pipeline.outbox.sweep(collection as never, Math.max(1000, config.OPENSIM_RELAY_INTERVAL_MS));
        published += swept.published;
        complete &&= swept.complete;
      }
      sweeps.swept(started, complete);
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
