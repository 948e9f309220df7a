import type { Role, RoleContext } from '../platform/role.js';
import { settlesWithin } from '../runtime/grace.js';
import { streamLimitsOf, streamReplicas, wantedStreams } from '../messaging/streams.js';
import { naming } from '../messaging/subjects.js';
import { reconcileStream, type StreamReport } from './stream-reconcile.js';

/** Pace while a stream is not yet as configured (e.g. the roles are still creating their consumers). */
const CONVERGING_MS = 1000;

/**
 * Keeps the streams as configured (docs/operations.md): at start-up, then every
 * OPENSIM_STREAMS_CHECK_MS, each stream is updated in place (stream-reconcile.ts), its replica
 * count included (OPENSIM_STREAM_REPLICAS). The consuming
 * roles create the streams (limits retention) and then their durable consumers; this role
 * switches COMMANDS and USAGE to interest retention only once those consumers exist, so no
 * message is ever published to an interest stream without a consumer that keeps it. Every
 * process checks; the checks are idempotent.
 */
export class StreamRetention implements Role {
  readonly name = 'stream-retention';
  private context!: RoleContext;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last postponement logged per stream, so a waiting stream is not logged every second. */
  private readonly said = new Map<string, string>();

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.check().then(
        (converged) => this.schedule(converged ? this.context.config.OPENSIM_STREAMS_CHECK_MS : CONVERGING_MS),
        (err) => {
          this.context.logger.warn({ err }, 'streams not checked; trying again');
          this.schedule(CONVERGING_MS * 5);
        },
      );
    }, ms);
  }

  /** One check of every stream; true when all are as configured. */
  async check(): Promise<boolean> {
    const nc = this.context.connections.nats();
    if (!nc) return false;
    const jsm = await nc.jetstreamManager();
    const { config } = this.context;
    let converged = true;
    // `auto` replicas resolved on the server reached: 3 on a cluster of three (streams.ts).
    const limits = { ...streamLimitsOf(config), replicas: streamReplicas(config.OPENSIM_STREAM_REPLICAS, nc.info) };
    for (const wanted of wantedStreams(naming(config.OPENSIM_SUBJECT_PREFIX), limits)) {
      const report = await reconcileStream(jsm, wanted);
      this.log(report);
      converged &&= report.postponed.length === 0;
    }
    return converged;
  }

  private log(report: StreamReport): void {
    const { logger } = this.context;
    if (report.created) logger.info({ stream: report.stream }, 'stream created');
    if (Object.keys(report.changes).length > 0) logger.info({ stream: report.stream, changes: report.changes }, 'stream updated in place');
    const waiting = report.postponed.join('; ');
    if (waiting && this.said.get(report.stream) !== waiting) logger.info({ stream: report.stream, postponed: report.postponed }, 'stream not yet as configured; checking again');
    this.said.set(report.stream, waiting);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await settlesWithin(this.pass, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}
