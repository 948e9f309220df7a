import { randomUUID } from 'node:crypto';
import type { Settled } from './batcher.js';
import type { Collections, OutboxEntry } from './documents.js';
import type { MarkedCollection, MarkerRef, OutboxMarker } from './marker-documents.js';

export type { MarkedCollection, MarkerRef, OutboxMarker } from './marker-documents.js';

/**
 * `outboxMarkers` (marker-documents.ts): how the relay finds outboxes left behind (a crash
 * between a write and its publish, NATS away) without scanning every line: the test server uses
 * no index for `outbox.event.time`, and at 1,000,000 lines that scan took 16.7 s.
 *
 * A marker is written *before* the write it marks (a marker whose events never arrived is
 * removed by the sweep; events without a marker could be missed), and removed by its writer once
 * its events are published or once its write is known not to have landed. Each write has a
 * marker of its own: two writers of the same events (a job run twice) never remove each other's.
 */

/**
 * A marker's `at` is read on the real clock, never on the pipeline's: the sweep measures its age
 * against its grace in real time (how long a writer may still be on its way), and a test that
 * runs the pipeline in another month must not make every marker look a week old, or new for a
 * week (the relay would fence lines that were never left behind, or sweep them too late).
 */
export function outboxMarker(collection: MarkedCollection, docId: string, entries: readonly OutboxEntry[]): OutboxMarker | null {
  if (entries.length === 0) return null;
  return { _id: `${collection}|${docId}|${randomUUID()}`, collection, docId, events: entries.map((e) => e.id), at: new Date().toISOString() };
}

export function refOf(marker: OutboxMarker | null): MarkerRef[] {
  return marker ? [{ _id: marker._id }] : [];
}

/** One insert of many markers (a marker already there is one a retried insert wrote). */
export async function writeMarkers(c: Collections, markers: readonly OutboxMarker[]): Promise<Settled<void>[]> {
  try {
    if (markers.length > 0) await c.outboxMarkers.insertMany(markers.map((m) => ({ ...m })), { ordered: false });
  } catch (err) {
    const errors = (err as { writeErrors?: { code?: number }[] | { code?: number } }).writeErrors;
    const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
    if (list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
  }
  return markers.map(() => ({ ok: true, value: undefined }));
}

/** One delete of many markers. */
export async function deleteMarkers(c: Collections, refs: readonly MarkerRef[]): Promise<Settled<void>[]> {
  if (refs.length > 0) await c.outboxMarkers.deleteMany({ _id: { $in: [...new Set(refs.map((r) => r._id))] } });
  return refs.map(() => ({ ok: true, value: undefined }));
}

/** Markers written before `before`, at most `limit`: a scan, but of the pending writes only. */
export async function markersBefore(c: Collections, before: string, limit: number): Promise<OutboxMarker[]> {
  return c.outboxMarkers.find({ at: { $lt: before } }).limit(limit).toArray();
}
