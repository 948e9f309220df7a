import type { LineMonth } from '../domain/index.js';
import type { Collections } from './documents.js';
import { insertOnce } from './insert-once.js';
import { lineMonthKey } from './monitoring-documents.js';

const CONCURRENCY = 32;

/** The line as it was read: its id, the version the copy is taken from, its account. */
export interface ArchivedFrom {
  _id: string;
  version: number;
  clientAccountId: string;
}

/**
 * Keeps the record of a month a line is about to leave, *before* the line write that leaves it
 * (a rollover, a later month's usage, a plan change in a month not yet rolled). The copy is of
 * line version `from.version`: a copy of a newer version replaces it (the line write lost its
 * guard and was redone after more usage), an older one never does (a stale writer). Once the
 * line has left the month no archiver copies it again, and late usage of the month is counted
 * on the archive itself (usage-writer.ts).
 */
export async function archiveMonths(c: Collections, items: readonly { from: ArchivedFrom; record: LineMonth }[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const { from, record } = items[next++]!;
      const _id = lineMonthKey(from._id, record.month);
      const copy = { lineId: from._id, clientAccountId: from.clientAccountId, month: record.month, lineVersion: from.version, record };
      // Usually the archive is new. (An upsert whose filter has more than `_id` makes the
      // MongoDB-wire test server scan the collection: insert first, update only if it exists.)
      if (await insertOnce(c.lineMonths, { _id, ...copy, version: 1, usagePending: [], outbox: [] })) continue;
      // It exists: a copy of a newer version replaces it, an older one never does. Guarded by
      // the archive's own version, an equality the test server answers from an index.
      for (;;) {
        const archived = await c.lineMonths.findOne({ _id }, { projection: { lineVersion: 1, version: 1 } });
        if (!archived || archived.lineVersion >= from.version) break;
        if (await c.lineMonths.findOneAndUpdate({ _id, version: archived.version }, { $set: copy, $inc: { version: 1 } }, { projection: { _id: 1 } })) break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

export async function archiveMonth(c: Collections, from: ArchivedFrom, record: LineMonth): Promise<void> {
  await archiveMonths(c, [{ from, record }]);
}
