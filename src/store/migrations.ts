import type { Collection, Document } from 'mongodb';
import type { Collections, OutboxEntry } from './documents.js';
import { insertOnce } from './insert-once.js';
import { markNotices } from './notice-markers.js';
import { outboxMarker, writeMarkers, type OutboxMarker } from './outbox-markers.js';

const LINE_HOLDS = 'line-holds-v1';

/**
 * Gives every line written before `holds` existed its active resource as what it holds, once
 * per database (a marker document says it is done, so a start at 1,000,000 lines scans nothing
 * the second time). Until it is done no plan change may be decided: a resource held by a line
 * without `holds` would look free to the unique index.
 */
export async function migrateLineHolds(c: Collections, now: string): Promise<number> {
  if (await c.migrations.findOne({ _id: LINE_HOLDS })) return 0;
  let migrated = 0;
  const cursor = c.lines.find({ holds: { $exists: false } }, { projection: { 'line.activeResourceId': 1 } });
  for await (const line of cursor) {
    // Only while still without: a plan change committed meanwhile set it from the state it wrote.
    const done = await c.lines.findOneAndUpdate({ _id: line._id, holds: { $exists: false } }, { $set: { holds: [line.line.activeResourceId] } }, { projection: { _id: 1 } });
    if (done) migrated += 1;
  }
  // An empty database has nothing to migrate, and stays empty (lines seeded later hold from the start).
  if (migrated > 0 || (await c.lines.estimatedDocumentCount()) > 0) await insertOnce(c.migrations, { _id: LINE_HOLDS, doneAt: now });
  return migrated;
}

const MARKERS = 'outbox-and-notice-markers-v1';

/**
 * Marks, once per database, what a version before markers left pending: every outbox not
 * published yet (outbox-markers.ts) and every notice held back (notice-markers.ts), so the sweeps,
 * which no longer scan, still find them. A database whose lines were all seeded by this version
 * has nothing to mark (seed.ts records it done). One scan per collection, the first time only.
 */
export async function migrateMarkers(c: Collections, now: string): Promise<number> {
  if (await c.migrations.findOne({ _id: MARKERS })) return 0;
  let marked = 0;
  for (const name of ['lines', 'requests', 'resources', 'lineMonths'] as const) {
    const collection = c[name] as unknown as Collection<Document>;
    const markers: OutboxMarker[] = [];
    for await (const doc of collection.find({ 'outbox.0': { $exists: true } }, { projection: { outbox: 1 } })) {
      const marker = outboxMarker(name, String(doc._id), doc.outbox as OutboxEntry[]);
      if (marker) markers.push(marker);
    }
    await writeMarkers(c, markers);
    marked += markers.length;
  }
  const notices = await c.lines.find({ 'usageNotice.dueAt': { $ne: null } }, { projection: { 'usageNotice.dueAt': 1 } }).toArray();
  const due = notices.flatMap((line) => (line.usageNotice?.dueAt ? [{ lineId: line._id, dueAt: line.usageNotice.dueAt }] : []));
  await markNotices(c, due);
  marked += due.length;
  if (marked > 0 || (await c.lines.estimatedDocumentCount()) > 0) await insertOnce(c.migrations, { _id: MARKERS, doneAt: now });
  return marked;
}

/** For a database whose lines are all written by this version (seeded into an empty one): nothing to mark. */
export async function markersNeedNoMigration(c: Collections, now: string): Promise<void> {
  await insertOnce(c.migrations, { _id: MARKERS, doneAt: now });
}
