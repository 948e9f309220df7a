import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation } from 'mongodb';
import type { Collections } from './documents.js';
import type { NoticeMarker } from './marker-documents.js';

/**
 * `noticeMarkers` (marker-documents.ts): how the notice sweep finds the lines whose held-back
 * `usage.updated` is due without scanning them all (the test server has no index for
 * `usageNotice.dueAt`). See line-writes.ts for when they are written and removed.
 */

/** Before a line write that holds a notice back (or ends one): `$min`, a token of the writer's own. Returns each marker as its writer knows it. */
export async function markNotices(c: Collections, notices: readonly { lineId: string; dueAt: string }[]): Promise<Pick<NoticeMarker, '_id' | 'token'>[]> {
  const marked = notices.map((n) => ({ _id: n.lineId, token: randomUUID() }));
  const ops: AnyBulkWriteOperation<NoticeMarker>[] = notices.map((n, k) => ({
    updateOne: { filter: { _id: n.lineId }, update: { $min: { dueAt: n.dueAt }, $set: { token: marked[k]!.token } }, upsert: true },
  }));
  if (ops.length > 0) await c.noticeMarkers.bulkWrite(ops, { ordered: false });
  return marked;
}

/** The markers due at `now`, at most `limit`: a scan, but of the lines with a notice held back only. */
export async function dueNoticeMarkers(c: Collections, now: string, limit: number): Promise<NoticeMarker[]> {
  return c.noticeMarkers.find({ dueAt: { $lte: now } }).limit(limit).toArray();
}

/**
 * After a guarded write of each line — which fences it: no writer that read the line before can
 * write it now, and one that reads it after marks it again with a token of its own — markers
 * whose line holds no notice any more go, those of a notice due later move to its `dueAt`: each
 * only while its token is still the one its settler wrote (or read, before reading the line).
 */
export async function settleNoticeMarkers(c: Collections, settled: readonly { marker: Pick<NoticeMarker, '_id' | 'token'>; dueAt: string | null }[]): Promise<void> {
  const ops: AnyBulkWriteOperation<NoticeMarker>[] = settled.map(({ marker, dueAt }) => {
    const filter = { _id: marker._id, token: marker.token };
    return dueAt === null ? { deleteOne: { filter } } : { updateOne: { filter, update: { $set: { dueAt } } } };
  });
  if (ops.length > 0) await c.noticeMarkers.bulkWrite(ops, { ordered: false });
}
