import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import type { Fixture, FixtureLine } from '../contract/fixture.js';
import { InconsistentStateError, registerLine, type Resource } from '../domain/index.js';
import { collections, ensureIndexes, type LineDocument, type ResourceDocument } from './documents.js';
import { markersNeedNoMigration } from './migrations.js';

/**
 * `opensim seed`: loads a fixture (already validated by `parseFixture`, whose reference checks
 * guarantee every line's service and active resource are in the file) into MongoDB.
 *
 * Upserts by key, one bulkWrite of `updateOne` upserts per collection, so seeding is idempotent:
 * a second run of the same file matches every document and modifies none.
 *
 * What the fixture describes is `$set` (optional fields it leaves out are `$unset`). What the
 * running system owns once a line exists is only written on insert (`$setOnInsert`): a line's
 * plan history, version, month record, decided requests and outbox, its active resource, and the
 * state of resources. Re-seeding after plan changes must not roll a line back or lose events.
 */

export interface KindCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface SeedSummary {
  products: KindCounts;
  services: KindCounts;
  resources: KindCounts;
  lines: KindCounts;
}

export async function seedFixture(db: Db, fixture: Fixture): Promise<SeedSummary> {
  const c = collections(db);
  const services = new Map(fixture.services.map((service) => [service.serviceRef, service]));
  const resources = new Map(fixture.resources.map((resource) => [resource.resourceId, resource]));
  const lineOnResource = new Map(fixture.lines.map((line) => [line.activeResourceId, line.lineId]));
  // Resolved before anything is written: parseFixture's reference checks guarantee both.
  const changed = await changedLines(c, fixture.lines);
  const lineOps = fixture.lines.map((line) => {
    const service = services.get(line.serviceRef);
    const resource = resources.get(line.activeResourceId);
    if (!service || !resource) throw new InconsistentStateError(`line '${line.lineId}': service or active resource not in the fixture (validate with parseFixture)`);
    return lineUpsert(line, service.clientAccountId, resource, changed.has(line.lineId));
  });

  await ensureIndexes(c);
  // Seeded into an empty database, every line is this version's: nothing for the marker migration to mark.
  if ((await c.lines.estimatedDocumentCount()) === 0) await markersNeedNoMigration(c, new Date().toISOString());
  const products = await upsert(
    c.products,
    fixture.products.map((product) => descriptive(product.productRef, product, ['monthlyPriceCents'])),
  );
  const servicesSeeded = await upsert(
    c.services,
    fixture.services.map((service) => descriptive(service.serviceRef, service, ['clientName', 'site', 'state'])),
  );
  const resourcesSeeded = await upsert(
    c.resources,
    fixture.resources.map(({ resourceId, serviceRef, productRef, state }) => ({
      updateOne: {
        filter: { _id: resourceId },
        update: {
          $set: { resourceId, serviceRef, productRef },
          // The state moves with plan changes once seeded: set on insert only.
          $setOnInsert: { state, lineId: lineOnResource.get(resourceId) ?? null },
        },
        upsert: true,
      },
    })),
  );
  const lines = await upsert(c.lines, lineOps);
  await claimResourcesOfNewLines(c.resources, fixture.lines, lines.insertedIds);
  return { products: products.counts, services: servicesSeeded.counts, resources: resourcesSeeded.counts, lines: lines.counts };
}

type Upsert<T extends Document> = AnyBulkWriteOperation<T>;

/** `$set` the record's fields, `$unset` the optional ones it leaves out. */
function descriptive<T extends object, D extends Document>(_id: string, record: T, optional: readonly (keyof T & string)[]): Upsert<D> {
  const missing = optional.filter((key) => record[key] === undefined);
  return {
    updateOne: {
      filter: { _id } as Document,
      update: { $set: { ...record }, ...(missing.length > 0 ? { $unset: Object.fromEntries(missing.map((key) => [key, ''])) } : {}) },
      upsert: true,
    },
  } as Upsert<D>;
}

const LINE_DESCRIPTIVE = ['msisdn', 'iccid', 'rio', 'user'] as const;

/**
 * A line: its descriptive fields (msisdn, iccid, rio, user, state) are `$set` on every seed;
 * everything else is `$setOnInsert`, field by field (a `$set` of `line.msisdn` next to a
 * `$setOnInsert` of the whole `line` would conflict), so a re-seed never touches the history,
 * version, month record, decided requests or outbox that plan changes have written since.
 */
function lineUpsert(fixtureLine: FixtureLine, clientAccountId: string, activeResource: Resource, changed: boolean): Upsert<LineDocument> {
  const line = registerLine(fixtureLine, activeResource);
  const missing = LINE_DESCRIPTIVE.filter((key) => line[key] === undefined);
  const set: Document = { 'line.state': line.state };
  for (const key of LINE_DESCRIPTIVE) if (line[key] !== undefined) set[`line.${key}`] = line[key];
  return {
    updateOne: {
      filter: { _id: line.lineId },
      update: {
        $set: set,
        ...(missing.length > 0 ? { $unset: Object.fromEntries(missing.map((key) => [`line.${key}`, ''])) } : {}),
        // A line the file changes (suspended, say) moves to a new version, so no guarded write
        // decided on the line as it was can land after the seed (BRIEF.md).
        ...(changed ? { $inc: { version: 1 } } : {}),
        $setOnInsert: {
          ...(changed ? {} : { version: 0 }),
          clientAccountId,
          serviceRef: line.serviceRef,
          'line.lineId': line.lineId,
          'line.serviceRef': line.serviceRef,
          'line.activatedAt': line.activatedAt,
          'line.activeResourceId': line.activeResourceId,
          'line.planHistory': line.planHistory,
          'line.lastAppliedRequestedAt': line.lastAppliedRequestedAt,
          month: null,
          decidedRequestIds: [],
          holds: [line.activeResourceId],
          outbox: [],
        },
      },
      upsert: true,
    },
  };
}

/** The lines already stored whose descriptive fields the file changes. */
async function changedLines(c: ReturnType<typeof collections>, lines: readonly FixtureLine[]): Promise<Set<string>> {
  if (lines.length === 0) return new Set();
  const stored = await c.lines.find({ _id: { $in: lines.map((l) => l.lineId) } }, { projection: { line: 1 } }).toArray();
  const byId = new Map(stored.map((doc) => [doc._id, doc.line]));
  return new Set(
    lines
      .filter((l) => {
        const was = byId.get(l.lineId);
        return was !== undefined && (was.state !== l.state || LINE_DESCRIPTIVE.some((key) => was[key] !== l[key]));
      })
      .map((l) => l.lineId),
  );
}

/**
 * A line new to the database whose active resource was already there (seeded available by an
 * earlier file) takes it: resource states are only written on insert, so mark it here.
 */
async function claimResourcesOfNewLines(resources: Collection<ResourceDocument>, lines: readonly FixtureLine[], inserted: ReadonlySet<string>): Promise<void> {
  const ops: Upsert<ResourceDocument>[] = lines
    .filter((line) => inserted.has(line.lineId))
    .map((line) => ({ updateOne: { filter: { _id: line.activeResourceId, state: 'available' }, update: { $set: { state: 'active', lineId: line.lineId } } } }));
  if (ops.length > 0) await resources.bulkWrite(ops, { ordered: true });
}

/** Runs the upserts; counts what was inserted, modified, left as it was, and the inserted keys. */
async function upsert<T extends Document>(collection: Collection<T>, ops: Upsert<T>[]): Promise<{ counts: KindCounts; insertedIds: Set<string> }> {
  if (ops.length === 0) return { counts: { inserted: 0, updated: 0, unchanged: 0 }, insertedIds: new Set() };
  const result = await collection.bulkWrite(ops, { ordered: true });
  const inserted = result.upsertedCount;
  const updated = result.modifiedCount;
  return {
    counts: { inserted, updated, unchanged: ops.length - inserted - updated },
    insertedIds: new Set(Object.values(result.upsertedIds).map(String)),
  };
}
