import { resourceStateOn } from '../domain/index.js';
import type { Collections } from './documents.js';
import { groupCommit } from './group-commit.js';

const PROJECTION_ROUNDS = 20;

/**
 * Brings the documents of these resources in line with the truth: which line holds each now.
 * Each is a compare-and-set on the projection's version `pv`, read *before* the truth: a writer
 * that read an older truth (it stalled, say) finds `pv` moved and reads again, so the last
 * write always reflects the lines as they are. Idempotent; run after every commit that moves a
 * resource, and by any retry. The reads and the compare-and-sets of concurrent jobs go in one
 * round trip each (group-commit.ts); the compare-and-set's own outcome comes from guarded-bulk.ts.
 */
export async function projectResources(c: Collections, resourceIds: readonly string[]): Promise<void> {
  await Promise.all([...new Set(resourceIds)].map((id) => projectResource(c, id)));
}

async function projectResource(c: Collections, resourceId: string): Promise<void> {
  const gc = groupCommit(c);
  for (let round = 0; round < PROJECTION_ROUNDS; round++) {
    const doc = await gc.resources.submit(resourceId);
    if (!doc) return;
    const holder = await gc.holders.submit(resourceId);
    const wanted = holder ? { state: resourceStateOn(holder.line, resourceId), lineId: holder._id } : { state: 'available' as const, lineId: null };
    if (doc.state === wanted.state && (doc.lineId ?? null) === wanted.lineId) return;
    // `pv: null` also matches a document never projected (no `pv` yet).
    const written = await gc.resourceWrites.submit({ filter: { _id: resourceId, pv: doc.pv ?? null }, update: { $set: { ...wanted, pv: (doc.pv ?? 0) + 1 } } });
    if (written.status === 'won') return;
  }
  throw new Error(`resource '${resourceId}' kept changing for ${PROJECTION_ROUNDS} rounds`);
}
