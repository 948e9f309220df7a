import type { Collection, Document, Filter } from 'mongodb';
import type { Collections } from '../store/documents.js';

/**
 * The records that make a late resend harmless, and when each may go: decision records
 * (`requests`), usage claims (`usage`) and their batch attempts (`usageAttempts`), warnings sent
 * (`notifications`). Each is kept OPENSIM_RECORDS_RETENTION_DAYS after it was written
 * (docs/operations.md). Timestamps are ISO strings in UTC (`toISOString()`), so they compare as strings.
 */
export interface ExpiryRule {
  collection: 'requests' | 'usage' | 'usageAttempts' | 'notifications';
  field: string;
  /** What must also hold before a record may go. */
  also?: Filter<Document>;
}

export const EXPIRY_RULES: readonly ExpiryRule[] = [
  // A record still holding events to publish stays; a scheduled change is not decided yet.
  { collection: 'requests', field: 'decidedAt', also: { 'outbox.0': { $exists: false }, outcome: { $ne: 'scheduled' } } },
  // Claims before attempts: an attempt is settled after its claims were inserted, so a claim
  // never outlives the attempt that says it was counted.
  { collection: 'usage', field: 'claimedAt' },
  { collection: 'usageAttempts', field: 'settledAt' },
  { collection: 'notifications', field: 'at' },
];

export interface ExpiryPace {
  /** Records deleted per page. */
  page: number;
  /** Waits between pages (the MongoDB-wire test server scans the collection for each page). */
  pause(ms: number): Promise<void>;
  /** Ends the pass early (shutdown). */
  stopped(): boolean;
}

/**
 * One pass: deletes, page by page, the records written before `cutoff`. Each page is one query
 * for ids and one delete by `_id`; after each page it pauses as long as the page took, so the
 * pass never holds a collection more than half the time. Returns the count deleted per collection.
 */
export async function expireRecords(c: Collections, cutoff: string, pace: ExpiryPace): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const rule of EXPIRY_RULES) {
    const collection = c[rule.collection] as unknown as Collection<Document>;
    let count = 0;
    while (!pace.stopped()) {
      const started = Date.now();
      const ids = (await collection.find({ [rule.field]: { $lt: cutoff }, ...rule.also }, { projection: { _id: 1 } }).limit(pace.page).toArray()).map((d) => d._id);
      if (ids.length === 0) break;
      count += (await collection.deleteMany({ _id: { $in: ids } })).deletedCount;
      if (ids.length < pace.page) break;
      await pace.pause(Date.now() - started);
    }
    deleted[rule.collection] = count;
  }
  return deleted;
}

/** Indexes that make each pass's query cheap on MongoDB (the test server accepts and ignores them). */
export async function ensureExpiryIndexes(c: Collections): Promise<void> {
  await Promise.all(EXPIRY_RULES.map((rule) => (c[rule.collection] as unknown as Collection<Document>).createIndex({ [rule.field]: 1 })));
}

export function expiryCutoff(now: Date, retentionDays: number): string {
  return new Date(now.getTime() - retentionDays * 24 * 3600 * 1000).toISOString();
}
