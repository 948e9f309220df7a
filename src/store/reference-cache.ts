import type { Collection } from 'mongodb';

/**
 * Products and services are reference data: seeded, rarely changed, read by every job.
 * Caching them for a short time saves two reads per job; a key not cached is read at once,
 * so a newly seeded product is seen immediately, and a changed one within `ttlMs`.
 */
export class ReferenceCache<T extends { _id: string }> {
  private readonly entries = new Map<string, { doc: T; expires: number }>();

  constructor(
    private readonly collection: Collection<T>,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 100_000,
  ) {}

  async getMany(ids: string[]): Promise<T[]> {
    const now = Date.now();
    const found: T[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (entry && entry.expires > now) found.push(entry.doc);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const docs = (await this.collection.find({ _id: { $in: missing } } as never).toArray()) as T[];
      if (this.entries.size + docs.length > this.maxEntries) this.entries.clear();
      for (const doc of docs) {
        this.entries.set(doc._id, { doc, expires: now + this.ttlMs });
        found.push(doc);
      }
    }
    return found;
  }
}
