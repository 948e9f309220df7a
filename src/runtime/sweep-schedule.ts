/**
 * When a sweep (a query over all lines for work left behind) is worth running. Sweeps are the
 * safety net for crashes and outages; run every second they would scan every line every second
 * (and on the test server, which builds no secondary index, hold the collection's lock while
 * doing it). So a sweep runs when this process knows there is work (a publish it deferred, a
 * notice it held back) and otherwise at a slow full-sweep pace that covers other processes'
 * crashes.
 */
/** Requested times are rounded up to this: a sweep never runs before its work is due, at most this late, and a busy writer's requests stay few. */
const GRAIN_MS = 10;

export class SweepSchedule {
  private lastFull = Number.NEGATIVE_INFINITY; // the first tick after start always sweeps
  /**
   * Every time work was asked for that no sweep has covered yet. Not only the earliest: a
   * sweep covers what was due when it started, and work asked for later (due later, or asked
   * while the sweep ran) must outlive it. Keeping one minimum lost those, and a held-back
   * `usage.updated` then waited for the full-sweep pace (30 s) instead of its due time.
   */
  private readonly requested = new Set<number>();

  constructor(private readonly fullEveryMs: number) {}

  /**
   * There is work at `atMs` (now if omitted): sweep once it is due. Ask only once the work can be
   * found (its marker written): a sweep that started between the request and the write would
   * take the request and miss the work, which would then wait for the full-sweep pace.
   */
  request(atMs: number = Date.now()): void {
    this.requested.add(Math.ceil(atMs / GRAIN_MS) * GRAIN_MS);
  }

  /** When work was asked for, earliest first (+Infinity: none). */
  requestedAt(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const at of this.requested) if (at < earliest) earliest = at;
    return earliest;
  }

  due(nowMs: number = Date.now()): boolean {
    return this.requestedAt() <= nowMs || nowMs - this.lastFull >= this.fullEveryMs;
  }

  /** A sweep ran at `startedMs`: the work asked for until then is covered. `complete` false means it stopped at its page size and must go on. */
  swept(startedMs: number, complete: boolean): void {
    this.lastFull = startedMs;
    for (const at of this.requested) if (at <= startedMs) this.requested.delete(at);
    if (!complete) this.request(startedMs);
  }
}
