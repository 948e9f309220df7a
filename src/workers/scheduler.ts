import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { settlesWithin } from '../runtime/grace.js';
import type { ScheduledMarker } from '../store/documents.js';
import { dueMarkers } from '../store/scheduled-markers.js';
import { processDueChange, type DueChange } from './due-change.js';
import type { WorkerDeps } from './plan-change.js';

/** Markers looked at per sweep, at most (a full page sweeps again at once). */
const PAGE = 500;

/**
 * Under one hash tag, so its keys share a slot on a Redis Cluster. (Triggers left in the untagged
 * queue of earlier versions are found again by the sweep of the markers.)
 */
export function dueQueueName(prefix: string): string {
  return `{${prefix}-due}`;
}

/** Job id of a change's trigger: one per request, so a trigger set twice is one. */
function dueJobId(requestId: string): string {
  return `due_${requestId.replaceAll(':', '~')}`;
}

/**
 * Scheduled changes fall due here: a delayed job per change (its trigger, set when it is
 * scheduled), and a sweep over the markers of changes due that finds any trigger lost (Redis
 * restarted empty, every process down at `effectiveAt`). MongoDB holds the truth: the line's
 * `scheduledChange`; the job is only the occasion to look. Jobs of this queue need no order:
 * each is decided on its line by the guarded write (due-change.ts).
 */
export class Scheduler implements Role {
  readonly name = 'scheduler';
  private queue!: Queue;
  private worker!: Worker<DueChange>;
  private context!: RoleContext;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private running = false;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    const { config, connections, logger } = context;
    const name = dueQueueName(config.OPENSIM_SUBJECT_PREFIX);
    this.queue = new Queue(name, { connection: connections.redis });
    this.queue.on('error', (err) => logger.debug({ err, service: 'redis' }, 'due queue connection error'));
    this.worker = new Worker<DueChange>(name, (job, token) => this.process(job, token), { connection: connections.redis, concurrency: 4, autorun: false });
    this.worker.on('error', (err) => logger.warn({ err }, 'due-change worker error'));
    this.pipeline.triggerDue = (marker) => this.trigger(marker);
    context.readiness.registerConsumer(this.name, () => this.running);
    void this.worker.run().catch((err) => logger.error({ err }, 'due-change worker stopped'));
    this.running = true;
    this.schedule(0);
  }

  /** Sets (or leaves) the change's trigger at its `effectiveAt`. */
  async trigger(marker: ScheduledMarker): Promise<void> {
    const delay = Math.max(0, Date.parse(marker.effectiveAt) - this.pipeline.clock().getTime());
    await this.queue.add('due', { lineId: marker.lineId, requestId: marker._id }, { jobId: dueJobId(marker._id), delay, attempts: 20, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: true, removeOnFail: true });
  }

  private async process(job: Job<DueChange>, token: string | undefined): Promise<void> {
    await this.pipeline.schemaReady;
    const { logger } = this.context;
    const now = this.pipeline.clock().toISOString();
    const decided = await processDueChange(this.deps(), job.data, now);
    if (decided.outcome === 'not-due') {
      // Early (a clock ahead of this one): back to the delayed set until it is due.
      await job.moveToDelayed(Date.now() + Math.max(50, Date.parse(decided.effectiveAt) - Date.parse(now)), token);
      throw new DelayedError();
    }
    if (decided.outcome !== 'not-scheduled') this.context.metrics.requestDecided('plan-change', decided.outcome, decided.outcome === 'rejected' ? decided.reason : null);
    logger.info({ requestId: job.data.requestId, lineId: job.data.lineId, outcome: decided.outcome, reason: decided.outcome === 'rejected' ? decided.reason : undefined }, `scheduled change ${decided.outcome}`);
  }

  private deps(): WorkerDeps {
    const { collections, references, outbox } = this.pipeline;
    return { collections, references, outbox, prefix: this.context.config.OPENSIM_SUBJECT_PREFIX };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((err) => {
          this.context.logger.debug({ err }, 'scheduled-change sweep incomplete; next pass retries');
          return 0;
        })
        .then((found) => this.schedule(found >= PAGE ? 0 : this.context.config.OPENSIM_SCHEDULE_SWEEP_MS));
    }, ms);
  }

  /** Triggers every change due whose marker is still there; returns how many it found. */
  private async sweep(): Promise<number> {
    await this.pipeline.schemaReady;
    const due = await dueMarkers(this.pipeline.collections, this.pipeline.clock().toISOString(), PAGE);
    for (const marker of due) await this.trigger(marker);
    if (due.length > 0) this.context.logger.info({ due: due.length }, 'scheduled changes due: triggered');
    return due.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    clearTimeout(this.timer);
    await settlesWithin(Promise.all([this.sweeping, this.worker.close()]), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
    await this.queue.close().catch(() => {});
  }
}
