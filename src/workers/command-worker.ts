import { MetricsTime, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { commandQueueNames } from '../queues/partitioning.js';
import type { Role, RoleContext } from '../platform/role.js';
import { settlesWithin } from '../runtime/grace.js';
import type { Pipeline } from '../platform/pipeline.js';
import { accountOf, isCommandJob, messageIdOf, type CommandJob } from '../queues/command-queues.js';
import { processPlanChangeCancel } from './plan-change-cancel.js';
import { decideFailed, type JobFailureReason } from './failed-decision.js';
import { describeError, isTerminal, TerminalError } from '../runtime/errors.js';
import { processPlanChange, type Outcome, type WorkerDeps } from './plan-change.js';
import { processResourceOrder } from './resource-order.js';
import { backoffMs, sleep, type RetryPolicy } from '../runtime/retry.js';
import { jobTelemetry } from '../tracing/job-telemetry.js';
import { activeSpan, inSpan } from '../tracing/spans.js';

/** What the dead-letter sweeper reads back from a failed job. */
export interface RetryProgress {
  /** Set on the last attempt: why the job ends failed. */
  reason?: JobFailureReason;
  attempts: number;
  firstError: string;
  lastError: string;
  firstAt: string;
  lastAt: string;
}

function decide(deps: WorkerDeps, command: CommandJob, now: string): Promise<Outcome> {
  switch (command.kind) {
    case 'plan-change':
      return processPlanChange(deps, command.request, now, command.seq);
    case 'resource-order':
      return processResourceOrder(deps, command.order, now);
    case 'plan-change-cancel':
      return processPlanChangeCancel(deps, command.cancel, now);
    default: {
      // A job no version of this code wrote (or a corrupt one): retrying reads the same.
      const unknown: never = command;
      throw new TerminalError(`unknown command ${JSON.stringify(unknown)}`, 'UNKNOWN_COMMAND');
    }
  }
}

/**
 * BullMQ → MongoDB. One worker per partition queue, one job at a time, and global
 * concurrency 1 so that several processes never run two jobs of a partition at once.
 * Transient failures are retried inside the job, with backoff: a job retried through
 * BullMQ's delayed set would let the next job of its partition overtake it.
 */
export class CommandWorker implements Role {
  readonly name = 'command-worker';
  private workers: Worker[] = [];
  private context!: RoleContext;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    context.readiness.registerConsumer(this.name, () => this.running);
    // In the background: with Redis down at start, the process still serves /readyz (503).
    void this.boot().catch((err) => context.logger.error({ err }, 'command workers did not start'));
  }

  private running = false;

  private addWorker(queue: string, policy: RetryPolicy): void {
    const { config, connections, logger } = this.context;
    const worker = new Worker<CommandJob, Outcome>(queue, (job) => this.process(job, policy), {
      connection: connections.redis,
      concurrency: 1,
      lockDuration: config.OPENSIM_LOCK_DURATION_MS,
      stalledInterval: Math.max(100, Math.floor(config.OPENSIM_LOCK_DURATION_MS / 2)),
      // A job whose worker stalls past its lock is run again; past this many times it ends failed
      // (dead-lettered by the relay, its failure recorded on the line), never silently dropped.
      maxStalledCount: config.OPENSIM_MAX_STALLED_COUNT,
      // Per-minute completed/failed counts kept in Redis for a week: `opensim queues` reads the failure rate there.
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      autorun: false,
      // Tracing on (docs/operations.md, "Tracing"): the job's span, continuing the intake's trace.
      telemetry: jobTelemetry(),
    });
    worker.on('error', (err) => logger.warn({ err, queue }, 'command worker error'));
    // Its worker lost the job's lock (it stalled, or died): the job runs again, here or elsewhere.
    worker.on('stalled', (jobId) => logger.warn({ jobId, queue }, 'command job stalled: run again'));
    this.workers.push(worker);
  }

  private async boot(): Promise<void> {
    const { config, connections } = this.context;
    const policy: RetryPolicy = { attempts: config.OPENSIM_RETRY_ATTEMPTS, baseMs: config.OPENSIM_RETRY_BASE_MS, maxMs: config.OPENSIM_RETRY_MAX_MS };
    // Every command queue there is, the configured ones and those of an earlier mapping still
    // draining (queues/partitioning.ts): a queue without a worker would never drain.
    for (const queue of await commandQueueNames(connections.redis, config.OPENSIM_SUBJECT_PREFIX, config.OPENSIM_PARTITIONS)) this.addWorker(queue, policy);
    // Idempotent; every process sets it, so a fresh Redis gets it from whichever starts first.
    await Promise.all(
      this.workers.map(async (w) => {
        const queue = new Queue(w.name, { connection: connections.redis });
        await queue.setGlobalConcurrency(1);
        await queue.close();
      }),
    );
    for (const worker of this.workers) void worker.run().catch((err) => this.context.logger.error({ err }, 'command worker stopped'));
    this.running = true;
  }

  private async process(job: Job<CommandJob, Outcome>, policy: RetryPolicy): Promise<Outcome> {
    const { logger } = this.context;
    if (!isCommandJob(job.data)) {
      // Retrying reads the same: dead-lettered at once (TERMINAL_ERROR).
      const at = this.pipeline.clock().toISOString();
      const error = `TerminalError: not a command this code knows (kind ${JSON.stringify((job.data as { kind?: unknown })?.kind)})`;
      await job.updateProgress({ reason: 'TERMINAL_ERROR', attempts: 1, firstError: error, lastError: error, firstAt: at, lastAt: at } satisfies RetryProgress as unknown as object);
      logger.error({ jobId: job.id }, error);
      throw new UnrecoverableError(error);
    }
    const command = job.data;
    const ids = { jobId: job.id, requestId: messageIdOf(command), clientAccountId: accountOf(command), lineId: command.kind === 'plan-change' ? command.request.lineId : undefined };
    activeSpan()?.setAttributes({ 'opensim.command.kind': command.kind, 'opensim.request_id': ids.requestId, 'opensim.client_account_id': ids.clientAccountId, ...(ids.lineId ? { 'opensim.line_id': ids.lineId } : {}) });
    const { collections, references, outbox, triggerDue } = this.pipeline;
    const deps: WorkerDeps = { collections, references, outbox, prefix: this.context.config.OPENSIM_SUBJECT_PREFIX, ...(triggerDue ? { triggerDue } : {}) };
    let progress: RetryProgress | undefined;
    const jobStarted = Date.now();
    const seconds = () => ({ processing: (Date.now() - jobStarted) / 1000, sinceReceived: (Date.now() - Date.parse(command.receivedAt)) / 1000 });
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        // The indexes and migrations first (their unique index keeps two lines off one resource);
        // not in place yet, MongoDB is away: an attempt that failed, retried with backoff.
        if (!(await settlesWithin(this.pipeline.schemaReady, 1000))) throw new Error('indexes and migrations not in place yet (MongoDB unreachable?)');
        const now = this.pipeline.clock().toISOString();
        // One attempt: load, decide, the guarded write, publish (their MongoDB and publish spans nest in it).
        const decided = await inSpan('opensim.decision', { attributes: { 'opensim.command.kind': command.kind, 'opensim.attempt': attempt } }, async (span) => {
          const outcome = await decide(deps, command, now);
          span?.setAttributes({ 'opensim.outcome': outcome.outcome, ...(outcome.outcome === 'rejected' ? { 'opensim.reason': outcome.reason } : {}) });
          return outcome;
        });
        const reason = decided.outcome === 'rejected' ? decided.reason : null;
        this.context.metrics.requestDecided(command.kind, decided.outcome, reason, seconds());
        logger.info({ ...ids, kind: command.kind, outcome: decided.outcome, reason: reason ?? undefined, attempt, ms: Date.now() - started }, `${command.kind} ${decided.outcome}`);
        return decided;
      } catch (err) {
        const at = this.pipeline.clock().toISOString();
        const last = isTerminal(err) || attempt >= policy.attempts;
        const reason: JobFailureReason = isTerminal(err) ? 'TERMINAL_ERROR' : 'RETRIES_EXHAUSTED';
        progress = { ...(last ? { reason } : {}), attempts: attempt, firstError: progress?.firstError ?? describeError(err), lastError: describeError(err), firstAt: progress?.firstAt ?? at, lastAt: at };
        await job.updateProgress(progress as unknown as object).catch(() => {});
        if (last) {
          logger.error({ ...ids, err, attempt, reason }, `${command.kind} failed: dead-lettered`);
          // The failure is a decision, committed on the line; with MongoDB away, the relay commits it once MongoDB answers.
          const failed = await decideFailed(deps, command, { reason, attempts: attempt, lastError: progress.lastError }, at).catch((recordErr: unknown) => {
            logger.warn({ ...ids, err: recordErr }, 'failure not recorded yet; the dead-letter collector records it');
            return undefined;
          });
          if (failed?.committedNow) this.context.metrics.requestDecided(command.kind, 'failed', reason, seconds());
          throw new UnrecoverableError(progress.lastError);
        }
        const wait = backoffMs(policy, attempt);
        logger.warn({ ...ids, err, attempt, retryInMs: wait }, `${command.kind} attempt failed; retrying`);
        await sleep(wait);
      }
    }
  }

  /**
   * Lets in-flight jobs finish within the grace period. Past it the process leaves anyway:
   * an unfinished job's lock expires and another worker runs it again, which is safe.
   * (BullMQ's close() can also hang on a connection stuck reconnecting: taskforcesh/bullmq#4656.)
   */
  async stop(): Promise<void> {
    this.running = false;
    const grace = this.context.config.OPENSIM_SHUTDOWN_GRACE_MS;
    const closed = Promise.all(this.workers.map((w) => w.close())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), grace);
    });
    const inTime = await Promise.race([closed, expired]);
    clearTimeout(timer);
    if (!inTime) {
      this.context.logger.warn({ graceMs: grace }, 'command workers did not close within the grace period; leaving jobs to be retried');
      // Not awaited: disconnect() waits on the same stuck connection.
      for (const worker of this.workers) void worker.disconnect().catch(() => {});
    }
  }
}
