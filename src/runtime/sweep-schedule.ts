/**
 * When a sweep (a query over all lines for work left behind) is worth running. Sweeps are the
 * safety net for crashes and outages; run every second they would scan every line every second
 * (and on the test server, which builds no secondary index, hold the collection's lock while
 * doing it). So a sweep runs when this process knows there is work (a publish it deferred, a
 * notice it held back) and otherwise at a slow full-sweep pace that covers other processes'
 * crashes.
 */
export class SweepSchedule {
  private lastFull = Number.NEGATIVE_INFINITY; // the first tick after start always sweeps
  private requested = Number.POSITIVE_INFINITY;

  constructor(private readonly fullEveryMs: number) {}

  /** There is work at `atMs` (now if omitted): sweep once it is due. */
  request(atMs: number = Date.now()): void {
    this.requested = Math.min(this.requested, atMs);
  }

  /** When work was asked for, earliest first (+Infinity: none). */
  requestedAt(): number {
    return this.requested;
  }

  due(nowMs: number = Date.now()): boolean {
    return this.requested <= nowMs || nowMs - this.lastFull >= this.fullEveryMs;
  }

  /** A sweep ran at `startedMs`; `complete` false means it stopped at its page size and must go on. */
  swept(startedMs: number, complete: boolean): void {
    this.lastFull = startedMs;
    if (this.requested <= startedMs) this.requested = Number.POSITIVE_INFINITY;
    if (!complete) this.request(startedMs);
  }
}
