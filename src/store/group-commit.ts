import type { Collection, Document } from 'mongodb';
import { Batcher, type BatchOptions, type Settled } from './batcher.js';
import type { Collections, LineDocument, RequestDocument, ResourceDocument } from './documents.js';
import { guardedBulk, type GuardedOp, type GuardOutcome } from './guarded-bulk.js';
import { deleteMarkers, writeMarkers, type MarkerRef, type OutboxMarker } from './outbox-markers.js';

/** What a plan change reads of the line that holds a resource: enough to say the resource's state. */
export type Holder = Pick<LineDocument, '_id' | 'holds' | 'line'>;

/**
 * The group-commit batchers of one set of collections (one process's pipeline): every job,
 * usage batch and sweep of the process goes through the same ones, so what they ask at the same
 * time goes in one round trip (batcher.ts). Reads by `$in`; guarded updates in one `bulkWrite`
 * with each operation's own outcome (guarded-bulk.ts); decision records in one `insertMany`;
 * outbox markers in one bulk each way.
 */
export interface GroupCommit {
  lines: Batcher<string, LineDocument | null>;
  requests: Batcher<string, RequestDocument | null>;
  resources: Batcher<string, ResourceDocument | null>;
  /** The line holding each resource (the unique `holds` index answers `$in`). */
  holders: Batcher<string, Holder | null>;
  lineWrites: Batcher<GuardedOp, GuardOutcome>;
  resourceWrites: Batcher<GuardedOp, GuardOutcome>;
  /** Inserted (`true`) or already there (`false`, a duplicate key). */
  requestInserts: Batcher<RequestDocument, boolean>;
  marks: Batcher<OutboxMarker, void>;
  unmarks: Batcher<MarkerRef, void>;
}

const READS: BatchOptions = { maxBatch: 1000, maxInFlight: 2 };
const WRITES: BatchOptions = { maxBatch: 500, maxInFlight: 2 };

const registry = new WeakMap<Collections, GroupCommit>();

export function groupCommit(c: Collections): GroupCommit {
  let found = registry.get(c);
  if (!found) {
    found = build(c);
    registry.set(c, found);
  }
  return found;
}

function build(c: Collections): GroupCommit {
  return {
    lines: byId(c.lines as unknown as Collection<Document>),
    requests: byId(c.requests as unknown as Collection<Document>),
    resources: byId(c.resources as unknown as Collection<Document>),
    holders: new Batcher((ids) => holdersOf(c, ids), READS),
    lineWrites: new Batcher((ops) => guardedBulk(c.lines as unknown as Collection<Document>, ops), WRITES),
    resourceWrites: new Batcher((ops) => guardedBulk(c.resources as unknown as Collection<Document>, ops), WRITES),
    requestInserts: new Batcher((docs) => insertEach(c.requests as unknown as Collection<Document>, docs), WRITES),
    marks: new Batcher((markers) => writeMarkers(c, markers), WRITES),
    unmarks: new Batcher((refs) => deleteMarkers(c, refs), WRITES),
  };
}

/** Documents by `_id`, one `find({_id: {$in}})` per batch; a key asked twice gets its own copy. */
function byId<T>(collection: Collection<Document>): Batcher<string, T | null> {
  return new Batcher(async (ids) => {
    const docs = await collection.find({ _id: { $in: [...new Set(ids)] } } as never).toArray();
    const found = new Map(docs.map((d) => [String(d._id), d]));
    const given = new Set<string>();
    return ids.map((id) => {
      const doc = found.get(id) ?? null;
      const value = doc && given.has(id) ? structuredClone(doc) : doc;
      given.add(id);
      return { ok: true, value: value as T | null };
    });
  }, READS);
}

async function holdersOf(c: Collections, resourceIds: string[]): Promise<Settled<Holder | null>[]> {
  const docs = await c.lines.find({ holds: { $in: [...new Set(resourceIds)] } }, { projection: { holds: 1, 'line.activeResourceId': 1, 'line.scheduledChange': 1 } }).toArray();
  const holderOf = new Map<string, Holder>();
  for (const doc of docs) for (const id of doc.holds ?? []) holderOf.set(id, doc as Holder);
  return resourceIds.map((id) => ({ ok: true, value: holderOf.get(id) ?? null }));
}

/** One unordered `insertMany`; a duplicate key is that document's answer (`false`), any other error its failure. */
async function insertEach(collection: Collection<Document>, docs: readonly Document[]): Promise<Settled<boolean>[]> {
  const failed = new Map<number, { code?: number; errmsg?: string }>();
  try {
    await collection.insertMany(docs.map((d) => ({ ...d })), { ordered: false });
  } catch (err) {
    const errors = (err as { writeErrors?: unknown }).writeErrors;
    const list = (Array.isArray(errors) ? errors : errors ? [errors] : []) as { index: number; code?: number; errmsg?: string }[];
    if (list.length === 0) throw err;
    for (const e of list) failed.set(e.index, e);
  }
  return docs.map((_, k): Settled<boolean> => {
    const error = failed.get(k);
    if (!error) return { ok: true, value: true };
    if (error.code === 11000) return { ok: true, value: false };
    return { ok: false, error: new Error(`${collection.collectionName}: ${error.errmsg ?? 'insert failed'} (code ${error.code})`) };
  });
}
