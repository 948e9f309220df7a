import type { Pipeline } from '../platform/pipeline.js';
import { settlesWithin } from '../runtime/grace.js';
import type { Role, RoleContext } from '../platform/role.js';
import { ensureExpiryIndexes, expireRecords, expiryCutoff } from './record-expiry.js';

const PAGE = 1000;

export function expiryLeaseKey(prefix: string): string {
  return `${prefix}:records-expiry`;
}

/**
 * Expires decision records, usage claims and warnings past OPENSIM_RECORDS_RETENTION_DAYS
 * (record-expiry.ts), one pass every OPENSIM_RECORDS_EXPIRY_INTERVAL_MS across all processes:
 * a process runs a pass only if it sets the Redis key first (it expires with the interval).
 * A periodic job rather than TTL indexes: TTL needs BSON dates (these are ISO strings) and the
 * MongoDB-wire test server never expires anything.
 */
export class RecordExpiry implements Role {
  readonly name = 'record-expiry';
  private context!: RoleContext;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly pipeline: Pick<Pipeline, 'collections' | 'clock'>) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    void ensureExpiryIndexes(this.pipeline.collections).catch((err) => context.logger.warn({ err }, 'expiry indexes not ensured yet'));
    // Soon after start, so frequent restarts do not postpone it; the lease keeps it to one pass per interval.
    this.schedule(Math.min(context.config.OPENSIM_RECORDS_EXPIRY_INTERVAL_MS, 5000));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce()
        .catch((err) => this.context.logger.warn({ err }, 'records expiry pass failed; the next one goes on'))
        .finally(() => this.schedule(this.context.config.OPENSIM_RECORDS_EXPIRY_INTERVAL_MS));
    }, ms);
  }

  /** One pass if no process ran one within the interval; the counts deleted, or null when another process had the turn. */
  async runOnce(): Promise<Record<string, number> | null> {
    const { config, connections, logger, metrics } = this.context;
    const turn = await connections.redis.set(expiryLeaseKey(config.OPENSIM_SUBJECT_PREFIX), String(process.pid), 'PX', config.OPENSIM_RECORDS_EXPIRY_INTERVAL_MS, 'NX');
    if (turn !== 'OK') return null;
    const cutoff = expiryCutoff(this.pipeline.clock(), config.OPENSIM_RECORDS_RETENTION_DAYS);
    const started = Date.now();
    const deleted = await expireRecords(this.pipeline.collections, cutoff, {
      page: PAGE,
      pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      stopped: () => this.stopped,
    });
    for (const [collection, count] of Object.entries(deleted)) metrics.recordsExpired(collection, count);
    logger.info({ cutoff, deleted, ms: Date.now() - started }, 'records expiry pass done');
    return deleted;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await settlesWithin(this.pass, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}
