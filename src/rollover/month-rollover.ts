import { Queue, Worker, type Job } from 'bullmq';
import type { Pipeline } from '../platform/pipeline.js';
import { onClock } from '../runtime/clock.js';
import { settlesWithin } from '../runtime/grace.js';
import { relayWhenDeferred } from '../outbox/publish-outboxes.js';
import type { Role, RoleContext } from '../platform/role.js';
import { parisMonth } from '../domain/index.js';
import { rollLines, type RolloverProgress } from './roll-lines.js';

export const ROLLOVER_SCHEDULER = 'month-rollover';
export const ROLLOVER_TIME_ZONE = 'Europe/Paris';
/** How often every process checks that Redis still has the rollover's scheduler (it may have lost it). */
export const RESCHEDULE_CHECK_MS = 5_000;

/** Under one hash tag, so its keys share a slot on a Redis Cluster (BullMQ's scripts touch several at once). */
export function rolloverQueueName(prefix: string): string {
  return `{${prefix}-rollover}`;
}

/**
 * Month rollover at 00:00 Europe/Paris on the 1st: a BullMQ job scheduler (cron
 * OPENSIM_ROLLOVER_CRON, default `0 0 1 * *`, in Paris time) puts one job per boundary in the
 * `<prefix>-rollover` queue; whichever process takes it rolls every line (roll-lines.ts). The
 * month rolled to is the Paris month of the pipeline's clock when the job runs, or of the instant
 * the job was due if later (a worker a few milliseconds early still rolls the new month). That
 * due instant is BullMQ's, on the real clock: it is placed on the pipeline's clock (`onClock`)
 * before the two are compared, so one clock decides the month (in production they are the same;
 * a test's clock in November is never rolled to December by a job due in real December). Every
 * process upserts the same scheduler, which is idempotent; a job run twice, or retried after a
 * crash half-way, rolls each line once.
 */
export class MonthRollover implements Role {
  readonly name = 'month-rollover';
  private queue!: Queue;
  private worker!: Worker;
  private context!: RoleContext;
  private running = false;
  private keeper: NodeJS.Timeout | undefined;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    const { config, connections, logger } = context;
    const name = rolloverQueueName(config.OPENSIM_SUBJECT_PREFIX);
    this.queue = new Queue(name, { connection: connections.redis });
    this.queue.on('error', (err) => logger.debug({ err, service: 'redis' }, 'rollover queue connection error'));
    this.worker = new Worker(name, (job) => this.process(job), {
      connection: connections.redis,
      concurrency: 1,
      lockDuration: config.OPENSIM_LOCK_DURATION_MS,
      autorun: false,
    });
    this.worker.on('error', (err) => logger.warn({ err }, 'rollover worker error'));
    context.readiness.registerConsumer(this.name, () => this.running);
    void this.boot().catch((err) => logger.error({ err }, 'month rollover did not start'));
  }

  private async boot(): Promise<void> {
    const { config, logger } = this.context;
    await this.schedule();
    void this.worker.run().catch((err) => logger.error({ err }, 'rollover worker stopped'));
    this.running = true;
    logger.info({ cron: config.OPENSIM_ROLLOVER_CRON, tz: ROLLOVER_TIME_ZONE }, 'month rollover scheduled');
    // Redis alone holds the scheduler: one that came back empty, or rolled back to before it was
    // set, gets it again within seconds, not at the next restart.
    this.keeper = setInterval(() => {
      void this.reschedule().catch((err) => logger.debug({ err, service: 'redis' }, 'rollover scheduler not checked; the next check retries'));
    }, RESCHEDULE_CHECK_MS);
    this.keeper.unref();
  }

  private async reschedule(): Promise<void> {
    if (await this.queue.getJobScheduler(ROLLOVER_SCHEDULER)) return;
    await this.schedule();
    this.context.logger.warn({ scheduler: ROLLOVER_SCHEDULER }, 'Redis had lost the month rollover scheduler: set again');
  }

  private async schedule(): Promise<void> {
    await this.queue.upsertJobScheduler(
      ROLLOVER_SCHEDULER,
      { pattern: this.context.config.OPENSIM_ROLLOVER_CRON, tz: ROLLOVER_TIME_ZONE },
      { name: 'month-start', data: {}, opts: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
  }

  private async process(job: Job): Promise<RolloverProgress> {
    const { config, connections, logger } = this.context;
    const dueAt = onClock(this.pipeline.clock, job.timestamp + (job.opts.delay ?? 0));
    const now = new Date(Math.max(this.pipeline.clock().getTime(), dueAt)).toISOString();
    const month = parisMonth(now);
    const started = Date.now();
    logger.info({ jobId: job.id, month }, 'month rollover started');
    const done = await rollLines(
      {
        collections: this.pipeline.collections,
        references: this.pipeline.references,
        js: () => connections.nats()?.jetstream(),
        prefix: config.OPENSIM_SUBJECT_PREFIX,
        batch: config.OPENSIM_ROLLOVER_BATCH,
        usageUpdatedIntervalMs: config.OPENSIM_USAGE_UPDATED_INTERVAL_MS,
        onPublishDeferred: relayWhenDeferred(this.pipeline.outboxSweeps, logger, 'month rollover'),
      },
      month,
      now,
      (progress) => job.updateProgress({ ...progress }).catch(() => undefined),
    );
    logger.info({ jobId: job.id, month, rolled: done.rolled, ms: Date.now() - started }, 'month rollover done');
    return done;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.keeper);
    // A rollover cut short is safe: its job is retried and rolls only the lines not rolled yet.
    const closed = await settlesWithin(Promise.all([this.worker?.close(), this.queue?.close()]), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
    if (!closed) void this.worker?.disconnect().catch(() => undefined);
  }
}
