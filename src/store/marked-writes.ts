import type { Collection, Document } from 'mongodb';
import type { Collections, OutboxEntry } from './documents.js';
import { groupCommit } from './group-commit.js';
import { insertOnce } from './insert-once.js';
import { outboxMarker, refOf, type MarkerRef } from './outbox-markers.js';

/**
 * Writes of records and resources that carry events, each marked first (outbox-markers.ts) so
 * the relay finds them if their publish never happens. Each returns the markers to remove once
 * the events are published; a write that did not land removes its marker at once.
 */

/** Inserts a document keyed by a deterministic `_id` (insert-once.ts); `inserted` false: an earlier attempt's stands. */
export async function insertMarked(c: Collections, collection: 'requests' | 'resources', doc: Document & { _id: string; outbox: OutboxEntry[] }): Promise<{ inserted: boolean; markers: MarkerRef[] }> {
  const marker = outboxMarker(collection, doc._id, doc.outbox);
  if (marker) await groupCommit(c).marks.submit(marker);
  const inserted = await insertOnce(c[collection] as unknown as Collection<Document>, doc as never);
  if (!inserted && marker) await groupCommit(c).unmarks.submit({ _id: marker._id });
  return { inserted, markers: inserted ? refOf(marker) : [] };
}

/** Appends events to an existing resource's outbox (an order that changes a resource). */
export async function appendResourceEvents(c: Collections, resourceId: string, entries: OutboxEntry[]): Promise<MarkerRef[]> {
  const marker = outboxMarker('resources', resourceId, entries);
  if (marker) await groupCommit(c).marks.submit(marker);
  const { matchedCount } = await c.resources.updateOne({ _id: resourceId }, { $push: { outbox: { $each: entries } } });
  if (matchedCount === 0 && marker) await groupCommit(c).unmarks.submit({ _id: marker._id });
  return matchedCount > 0 ? refOf(marker) : [];
}
