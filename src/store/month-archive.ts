import { MongoBulkWriteError } from 'mongodb';
import type { LineMonth } from '../domain/index.js';
import type { Collections } from './documents.js';
import { lineMonthKey } from './monitoring-documents.js';

const DUPLICATE_KEY = 11000;

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
  if (items.length === 0) return;
  try {
    await c.lineMonths.bulkWrite(
      items.map(({ from, record }) => ({
        updateOne: {
          filter: { _id: lineMonthKey(from._id, record.month), lineVersion: { $lt: from.version } },
          update: {
            $set: { lineId: from._id, clientAccountId: from.clientAccountId, month: record.month, lineVersion: from.version, record },
            $inc: { version: 1 },
            $setOnInsert: { usagePending: [], outbox: [] },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  } catch (err) {
    // An upsert that found the archive newer tried to insert a second one: the archive stands.
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  }
}

export async function archiveMonth(c: Collections, from: ArchivedFrom, record: LineMonth): Promise<void> {
  await archiveMonths(c, [{ from, record }]);
}
