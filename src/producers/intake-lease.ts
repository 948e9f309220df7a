import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Who may take commands in: one process at a time per deployment. Two intakes pulling from
 * the one durable consumer could each hold a request of the same line and enqueue them in
 * either order; with one holder, jobs reach the partitions in stream order.
 *
 * The lease is a Redis key (Redis is where the jobs go: a process that cannot reach it cannot
 * enqueue anyway) with a time to live, renewed every third of it. The holder trusts its lease
 * only until its own deadline, measured from the moment it *sent* the last successful renewal,
 * so a process that stalls (GC, a paused VM) finds its lease stale when it wakes and enqueues
 * nothing more, without asking Redis.
 */
export class IntakeLease {
  /** This holding's token, new at each acquisition: the fencing token of what the holder enqueues. It names the holder. */
  token: string = randomUUID();
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly ttlMs: number,
    /** Who holds it, as operators find it in the key (host:pid:…). */
    private readonly holder = '',
  ) {}

  /** Takes the lease if nobody holds it. */
  async tryAcquire(): Promise<boolean> {
    const sent = performance.now();
    const token = this.holder ? `${this.holder}/${randomUUID()}` : randomUUID();
    const taken = (await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX')) === 'OK';
    if (taken) this.token = token;
    if (taken) this.validUntil = sent + this.trustedFor();
    return taken;
  }

  /** True while this process may still act on its lease. */
  valid(): boolean {
    return performance.now() < this.validUntil;
  }

  /**
   * Renews every third of the time to live until `release()`. `onLost` is called once when
   * another process holds the key (this one's expired while it was away).
   */
  keep(onLost: () => void): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      const sent = performance.now();
      this.redis
        .eval(RENEW, 1, this.key, this.token, String(this.ttlMs))
        .then((renewed) => {
          if (renewed === 1) {
            this.validUntil = sent + this.trustedFor();
            return;
          }
          this.lose();
          onLost();
        })
        // Redis unreachable: the lease runs out on its own deadline; a later renewal may still succeed.
        .catch(() => {});
    }, Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Gives the lease up at once, so a standby process takes over without waiting for it to expire. */
  async release(): Promise<void> {
    this.lose();
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }

  private lose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.validUntil = 0;
  }

  /** A margin for clock drift between this process and Redis: trust a tenth less than the key lives. */
  private trustedFor(): number {
    return this.ttlMs * 0.9;
  }
}

