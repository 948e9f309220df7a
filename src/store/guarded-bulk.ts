import { MongoBulkWriteError, type AnyBulkWriteOperation, type BulkWriteResult, type Collection, type Document, type UpdateFilter } from 'mongodb';
import type { Settled } from './batcher.js';

const DUPLICATE_KEY = 11000;

/** A compare-and-set of one document: `{_id, <guard>: value}` must still match for `update` to apply. */
export interface GuardedOp {
  filter: { _id: string } & Document;
  update: UpdateFilter<Document>;
}

/**
 * What became of one guarded update of a bulk: `won`, `lost` (the guard no longer matched: the
 * document was written meanwhile) or `refused` (a unique index other than `_id` refused the
 * change: its name, e.g. `holds_1`).
 */
export type GuardOutcome = { status: 'won' } | { status: 'lost' } | { status: 'refused'; index: string };

/** Thrown for an operation whose guard matched no document at all: it created one, and these documents are never deleted. */
export class GuardedDocumentMissingError extends Error {
  override readonly name = 'GuardedDocumentMissingError';
}

/**
 * Many guarded updates in one `bulkWrite`, with each operation's own outcome. A bulk update
 * reports only totals (`matchedCount`; the MongoDB-wire test server's `update` only `n` and
 * `nModified`), and MongoDB's per-operation results (`client.bulkWrite` verbose) need MongoDB 8.
 * So each operation is an **upsert** on its guard filter: where the guard still matches it
 * updates; where it does not, MongoDB tries to insert `{_id, <guard>…}` and refuses it with a
 * duplicate key on `_id`, reported for that operation's index in `writeErrors`. A lost guard
 * can therefore never pass for a win: an operation without a write error matched its guard.
 * This holds because these documents are never deleted (lines, resources, month archives):
 * with no document of that `_id` the upsert would create one, which is reported as an error
 * (`upsertedIds`) — never as a win. A duplicate key on another unique index (a line's `holds`)
 * is `refused`, with the index named.
 */
export async function guardedBulk(collection: Collection<Document>, ops: readonly GuardedOp[]): Promise<Settled<GuardOutcome>[]> {
  if (ops.length === 0) return [];
  // Filters by string `_id` (the driver's default Document type expects an ObjectId).
  const writes = ops.map((op) => ({ updateOne: { filter: op.filter as Document, update: op.update, upsert: true } })) as AnyBulkWriteOperation<Document>[];
  let result: BulkWriteResult | undefined;
  const failed = new Map<number, { code: number | undefined; errmsg: string }>();
  try {
    result = await collection.bulkWrite(writes, { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    // A failure of the whole command (no write error to pin it on) fails every operation.
    if (errors.length === 0) throw err;
    for (const e of errors) failed.set(e.index, { code: e.code, errmsg: e.errmsg ?? '' });
    result = err.result;
  }
  const upserted = new Set(Object.keys(result?.upsertedIds ?? {}).map(Number));
  return ops.map((op, k): Settled<GuardOutcome> => {
    const error = failed.get(k);
    if (error?.code === DUPLICATE_KEY) {
      const index = indexOf(error.errmsg);
      return { ok: true, value: index === null || isGuardIndex(index) ? { status: 'lost' } : { status: 'refused', index } };
    }
    if (error) return { ok: false, error: new Error(`${collection.collectionName} '${op.filter._id}': ${error.errmsg} (code ${error.code})`) };
    if (upserted.has(k)) return { ok: false, error: new GuardedDocumentMissingError(`${collection.collectionName} '${op.filter._id}' did not exist: a guarded write created it (these documents are never deleted)`) };
    return { ok: true, value: { status: 'won' } };
  });
}

/** The index named by a duplicate-key message (`… index: holds_1 dup key: …`), as MongoDB and the test server word it. */
function indexOf(errmsg: string): string | null {
  return /index: (\S+) dup key/.exec(errmsg)?.[1] ?? null;
}

/** `_id_`, or the unique index on exactly a guard's keys (`_id_1_version_1`, documents.ts GUARD_INDEXES): a clash there is the guard's. */
function isGuardIndex(index: string): boolean {
  return index === '_id_' || index.startsWith('_id_1_');
}
