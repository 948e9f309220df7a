import type { Collections } from './documents.js';
import { insertOnce } from './insert-once.js';

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
