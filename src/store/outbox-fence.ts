import type { Collection, Document } from 'mongodb';
import type { Collections, OutboxEntry } from './documents.js';
import { writeLine } from './line-writes.js';
import type { MarkedCollection } from './marker-documents.js';

/** A marked document as the outbox sweep reads it: its pending events and, where it has one, its version. */
export interface MarkedDocument {
  _id: string;
  version?: number;
  outbox?: OutboxEntry[];
}

export async function readMarked(c: Collections, collection: MarkedCollection, ids: readonly string[]): Promise<Map<string, MarkedDocument>> {
  const docs = (await (c[collection] as unknown as Collection<Document>).find({ _id: { $in: [...ids] } } as never, { projection: { outbox: 1, version: 1 } }).toArray()) as unknown as MarkedDocument[];
  return new Map(docs.map((d) => [d._id, d]));
}

/** Documents whose writers are fenced by a version (a guarded write), so a sweep can fence them too. */
export function fenceable(collection: MarkedCollection): collection is 'lines' | 'lineMonths' {
  return collection === 'lines' || collection === 'lineMonths';
}

/**
 * A write that changes nothing but the version, guarded by the version the sweep read: once it
 * lands, no writer that decided on an earlier version can write any more (its guard is lost; it
 * reads again and marks its events again). So a marker whose events are not in the document can
 * then go: they are published already, or they will never arrive under that marker.
 */
export async function fence(c: Collections, collection: 'lines' | 'lineMonths', doc: MarkedDocument, now: string): Promise<boolean> {
  if (doc.version === undefined) return false;
  if (collection === 'lines') {
    const written = await writeLine(c, { lineId: doc._id, version: doc.version, asRead: { outbox: doc.outbox ?? [] }, set: {}, outbox: [] }, now);
    return written.status === 'committed';
  }
  return (await c.lineMonths.findOneAndUpdate({ _id: doc._id, version: doc.version }, { $inc: { version: 1 } }, { projection: { _id: 1 } })) !== null;
}
