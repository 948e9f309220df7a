import type { Collection, Document } from 'mongodb';
import type { Collections, OutboxEntry } from '../store/documents.js';
import { groupCommit } from '../store/group-commit.js';
import { markersBefore, type MarkedCollection, type MarkerRef, type OutboxMarker } from '../store/outbox-markers.js';
import { fence, fenceable, readMarked, type MarkedDocument } from '../store/outbox-fence.js';
import { groupBy } from '../runtime/group-by.js';

/** How long a marker of a record or resource whose events never arrived is kept: its writer may still be on its way. */
export const UNFENCED_ORPHAN_MS = 3_600_000;

type Flush = (collection: Collection<Document & { _id: string }>, id: string, known: OutboxEntry[], markers: readonly MarkerRef[]) => Promise<number>;

/**
 * One pass of the outbox sweep, driven by markers (store/outbox-markers.ts) instead of a query
 * over every document: each marked document is read, its whole pending outbox published in
 * order, and the markers whose events it holds removed once they are published. A marker whose
 * events the document does not hold belongs to a write that never landed, or landed and was
 * published, or is still on its way (its writer paused between marker and write): a line or a
 * month archive is then fenced (fence: a version bump the late writer's guard cannot survive)
 * before its marker goes; a record or resource keeps it for UNFENCED_ORPHAN_MS.
 */
export async function sweepMarked(c: Collections, flush: Flush, graceMs: number, page: number): Promise<{ published: number; complete: boolean }> {
  const nowMs = Date.now();
  const markers = await markersBefore(c, new Date(nowMs - graceMs).toISOString(), page);
  let published = 0;
  for (const [collection, ofCollection] of groupBy(markers, (m) => m.collection)) {
    const docs = await readMarked(c, collection, [...new Set(ofCollection.map((m) => m.docId))]);
    for (const [docId, ofDoc] of groupBy(ofCollection, (m) => m.docId)) {
      published += await sweepDocument(c, flush, collection, docs.get(docId) ?? null, docId, ofDoc, nowMs);
    }
  }
  return { published, complete: markers.length < page };
}

async function sweepDocument(c: Collections, flush: Flush, collection: MarkedCollection, doc: MarkedDocument | null, docId: string, markers: OutboxMarker[], nowMs: number): Promise<number> {
  const held = new Set((doc?.outbox ?? []).map((e) => e.id));
  const present = markers.filter((m) => m.events.some((id) => held.has(id)));
  const absent = markers.filter((m) => !present.includes(m));
  let published = 0;
  if (doc && (doc.outbox ?? []).length > 0) published = await flush(c[collection] as never, docId, doc.outbox!, present.map((m) => ({ _id: m._id })));
  if (absent.length === 0) return published;
  const now = new Date(nowMs).toISOString();
  const gone = doc && fenceable(collection) ? ((await fence(c, collection, doc, now)) ? absent : []) : absent.filter((m) => nowMs - Date.parse(m.at) > UNFENCED_ORPHAN_MS);
  if (gone.length > 0) await groupCommit(c).unmarks.submitAll(gone.map((m) => ({ _id: m._id })));
  return published;
}
