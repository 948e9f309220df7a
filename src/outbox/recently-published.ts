/**
 * The events this process has had acknowledged by JetStream in the last few seconds. A writer
 * publishes a document's whole pending outbox (what it read plus what it appended), which may
 * still hold events another job just published and has not pulled yet: those are skipped. They
 * are stored already, so the order of the document's events is kept; JetStream would drop them
 * anyway, but core subscribers (the console's live feed) would see them twice.
 */
export class RecentlyPublished {
  private readonly acked = new Map<string, number>();

  constructor(
    private readonly keepMs = 10_000,
    private readonly maxEntries = 50_000,
  ) {}

  has(eventId: string, nowMs = Date.now()): boolean {
    const at = this.acked.get(eventId);
    return at !== undefined && nowMs - at < this.keepMs;
  }

  add(eventIds: readonly string[], nowMs = Date.now()): void {
    for (const id of eventIds) this.acked.set(id, nowMs);
    if (this.acked.size > this.maxEntries) this.prune(nowMs);
  }

  /** Oldest first (a Map iterates in insertion order): drops what is past `keepMs`, or the older half. */
  private prune(nowMs: number): void {
    let drop = Math.floor(this.acked.size / 2);
    for (const [id, at] of this.acked) {
      if (drop <= 0 && nowMs - at < this.keepMs) break;
      this.acked.delete(id);
      drop -= 1;
    }
  }
}
