import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collection, type Db, type Document, Long, MongoClient, MongoServerError } from 'mongodb';
import { mongoUrlWithDatabase, services, uniqueName } from '../support/services.js';

/**
 * Capability probe: each MongoDB feature that the project's code may use, asserted against
 * the server of this run (real MongoDB in containers, or the services script's test server).
 * Features that the test server lacks are not probed here: docs/testing.md lists them, and
 * the code must not rely on them.
 */
describe(`MongoDB features the code may use (${new URL(services().mongoUrl).host})`, () => {
  const dbName = uniqueName('probe');
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => {
    client = new MongoClient(mongoUrlWithDatabase(dbName), { serverSelectionTimeoutMS: 5_000, maxPoolSize: 30 });
    await client.connect();
    db = client.db();
  });

  afterAll(async () => {
    await db?.dropDatabase().catch(() => {});
    await client?.close();
  });

  /** A fresh collection per test, so probes never see each other's documents. */
  function fresh<T extends Document = Document>(): Collection<T> {
    return db.collection<T>(uniqueName('c'));
  }

  it('given a document, when inserted with insertOne, then findOne returns it with its types intact', async () => {
    const c = fresh();
    const at = new Date('2025-03-04T05:06:07.089Z');
    const big = 2 ** 40 + 7; // bytes counters go past 32 bits
    await c.insertOne({ _id: 'a' as never, name: 'line', at, big, long: Long.fromNumber(2 ** 50), nested: { x: [1, 2] }, none: null });

    const doc = await c.findOne({ _id: 'a' as never });
    expect(doc).toEqual({ _id: 'a', name: 'line', at, big, long: 2 ** 50, nested: { x: [1, 2] }, none: null });
    expect(doc?.at).toBeInstanceOf(Date);
  });

  it('given a unique index, when a duplicate key is inserted, then the insert fails with code 11000 and nothing is written', async () => {
    const c = fresh();
    await c.createIndex({ requestId: 1 }, { unique: true });
    await c.insertOne({ requestId: 'r-1', n: 1 });

    const error = await c.insertOne({ requestId: 'r-1', n: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(11000);
    expect(await c.countDocuments({ requestId: 'r-1' })).toBe(1);
  });

  it('given a unique compound index, when an update or upsert would create a duplicate, then it fails with code 11000', async () => {
    const c = fresh();
    await c.createIndex({ account: 1, key: 1 }, { unique: true });
    await c.insertMany([
      { account: 'A', key: 'k1' },
      { account: 'A', key: 'k2' },
      { account: 'B', key: 'k1' },
    ]);

    const byUpdate = await c.updateOne({ account: 'A', key: 'k2' }, { $set: { key: 'k1' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((byUpdate as MongoServerError).code).toBe(11000);

    const byUpsert = await c
      .updateOne({ account: 'B', key: 'k1', other: 'no-match' }, { $set: { n: 1 } }, { upsert: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((byUpsert as MongoServerError).code).toBe(11000);
    expect(await c.countDocuments()).toBe(3);
  });

  it('given a version-guarded document, when findOneAndUpdate matches the version, then it returns the new document', async () => {
    const c = fresh<{ _id: string; version: number; plan: string }>();
    await c.insertOne({ _id: 'line-1', version: 3, plan: 'P1' });

    const after = await c.findOneAndUpdate(
      { _id: 'line-1', version: 3 },
      { $set: { plan: 'P2' }, $inc: { version: 1 } },
      { returnDocument: 'after' },
    );
    expect(after).toEqual({ _id: 'line-1', version: 4, plan: 'P2' });
  });

  it('given a version-guarded document, when findOneAndUpdate has a stale version, then it returns null and changes nothing', async () => {
    const c = fresh<{ _id: string; version: number; plan: string }>();
    await c.insertOne({ _id: 'line-1', version: 4, plan: 'P2' });

    const stale = await c.findOneAndUpdate(
      { _id: 'line-1', version: 3 },
      { $set: { plan: 'P3' }, $inc: { version: 1 } },
      { returnDocument: 'after' },
    );
    expect(stale).toBeNull();
    expect(await c.findOne({ _id: 'line-1' })).toEqual({ _id: 'line-1', version: 4, plan: 'P2' });
  });

  it('given findOneAndUpdate with returnDocument before, then it returns the document as it was', async () => {
    const c = fresh<{ _id: string; n: number }>();
    await c.insertOne({ _id: 'x', n: 1 });

    const before = await c.findOneAndUpdate({ _id: 'x' }, { $inc: { n: 1 } }, { returnDocument: 'before' });
    expect(before).toEqual({ _id: 'x', n: 1 });
    expect(await c.findOne({ _id: 'x' })).toEqual({ _id: 'x', n: 2 });
  });

  it('given an upsert with $setOnInsert, then the insert sets those fields and a later update leaves them alone', async () => {
    const c = fresh<{ _id: string; createdAt?: string; seen?: number; last?: string }>();
    const first = await c.updateOne(
      { _id: 'req-1' },
      { $setOnInsert: { createdAt: 't1' }, $set: { last: 'a' }, $inc: { seen: 1 } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    expect(first.upsertedId).toBe('req-1');

    const second = await c.updateOne(
      { _id: 'req-1' },
      { $setOnInsert: { createdAt: 't2' }, $set: { last: 'b' }, $inc: { seen: 1 } },
      { upsert: true },
    );
    expect(second.upsertedCount).toBe(0);
    expect(second.matchedCount).toBe(1);
    expect(await c.findOne({ _id: 'req-1' })).toEqual({ _id: 'req-1', createdAt: 't1', last: 'b', seen: 2 });
  });

  it('given findOneAndUpdate with upsert, then it creates the document and returns it', async () => {
    const c = fresh<{ _id: string; n: number; kind?: string }>();
    const created = await c.findOneAndUpdate(
      { _id: 'k' },
      { $setOnInsert: { kind: 'new' }, $inc: { n: 5 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(created).toEqual({ _id: 'k', kind: 'new', n: 5 });
  });

  it('given $push with $each and $slice -N, then only the last N elements are kept', async () => {
    const c = fresh<{ _id: string; history: number[] }>();
    await c.insertOne({ _id: 'h', history: [1, 2] });

    await c.updateOne({ _id: 'h' }, { $push: { history: { $each: [3, 4, 5], $slice: -3 } } });
    expect((await c.findOne({ _id: 'h' }))?.history).toEqual([3, 4, 5]);

    await c.updateOne({ _id: 'h' }, { $push: { history: { $each: [6], $slice: -3 } } });
    expect((await c.findOne({ _id: 'h' }))?.history).toEqual([4, 5, 6]);
  });

  it('given $pull by value and by condition, then the matching elements are removed', async () => {
    const c = fresh<{ _id: string; tags: string[]; items: { id: string; n: number }[] }>();
    await c.insertOne({
      _id: 'p',
      tags: ['a', 'b', 'a', 'c'],
      items: [
        { id: 'x', n: 1 },
        { id: 'y', n: 2 },
        { id: 'z', n: 3 },
      ],
    });

    await c.updateOne({ _id: 'p' }, { $pull: { tags: 'a', items: { n: { $gte: 2 } } } });
    expect(await c.findOne({ _id: 'p' })).toEqual({ _id: 'p', tags: ['b', 'c'], items: [{ id: 'x', n: 1 }] });
  });

  it('given $addToSet and $push, then arrays grow as MongoDB specifies', async () => {
    const c = fresh<{ _id: string; set: string[]; list: string[] }>();
    await c.insertOne({ _id: 's', set: ['a'], list: [] });

    await c.updateOne({ _id: 's' }, { $addToSet: { set: { $each: ['a', 'b'] } }, $push: { list: 'x' } });
    expect(await c.findOne({ _id: 's' })).toEqual({ _id: 's', set: ['a', 'b'], list: ['x'] });
  });

  it('given $inc on nested fields, then missing fields are created and existing ones incremented', async () => {
    const c = fresh<{ _id: string; usage: { fr?: number; eu?: number } }>();
    await c.insertOne({ _id: 'u', usage: { fr: 10 } });

    await c.updateOne({ _id: 'u' }, { $inc: { 'usage.fr': 5, 'usage.eu': 2 ** 33 } });
    await c.updateOne({ _id: 'u' }, { $inc: { 'usage.fr': 1, 'months.2025-03.bytes': 7 } });
    expect(await c.findOne({ _id: 'u' })).toEqual({
      _id: 'u',
      usage: { fr: 16, eu: 2 ** 33 },
      months: { '2025-03': { bytes: 7 } },
    });
  });

  it('given $max, $min and $unset, then fields change as MongoDB specifies', async () => {
    const c = fresh<{ _id: string; hi: number; lo: number; tmp?: string }>();
    await c.insertOne({ _id: 'm', hi: 5, lo: 5, tmp: 'x' });

    await c.updateOne({ _id: 'm' }, { $max: { hi: 9 }, $min: { lo: 2 }, $unset: { tmp: '' } });
    await c.updateOne({ _id: 'm' }, { $max: { hi: 3 }, $min: { lo: 4 } });
    expect(await c.findOne({ _id: 'm' })).toEqual({ _id: 'm', hi: 9, lo: 2 });
  });

  it('given a filter on an array element, when updateOne pulls that element, then it is removed once', async () => {
    const c = fresh<{ _id: string; outbox: { id: string; type: string }[] }>();
    await c.insertOne({
      _id: 'o',
      outbox: [
        { id: 'e1', type: 'applied' },
        { id: 'e2', type: 'recomputed' },
      ],
    });

    const first = await c.updateOne({ _id: 'o', 'outbox.id': 'e1' }, { $pull: { outbox: { id: 'e1' } } });
    expect(first.matchedCount).toBe(1);
    expect(first.modifiedCount).toBe(1);

    const again = await c.updateOne({ _id: 'o', 'outbox.id': 'e1' }, { $pull: { outbox: { id: 'e1' } } });
    expect(again.matchedCount).toBe(0);
    expect((await c.findOne({ _id: 'o' }))?.outbox).toEqual([{ id: 'e2', type: 'recomputed' }]);

    const withOutbox = await c.find({ 'outbox.0': { $exists: true } }).toArray();
    expect(withOutbox.map((d) => d._id)).toEqual(['o']);
  });

  it('given the positional $ operator, then the first matching array element is updated', async () => {
    const c = fresh<{ _id: string; items: { id: string; state: string }[] }>();
    await c.insertOne({
      _id: 'i',
      items: [
        { id: 'a', state: 'new' },
        { id: 'b', state: 'new' },
      ],
    });

    await c.updateOne({ _id: 'i', 'items.id': 'b' }, { $set: { 'items.$.state': 'done' } });
    expect((await c.findOne({ _id: 'i' }))?.items).toEqual([
      { id: 'a', state: 'new' },
      { id: 'b', state: 'done' },
    ]);
  });

  it('given arrayFilters, then the matching array elements are updated', async () => {
    const c = fresh<{ _id: string; items: { id: string; state: string }[] }>();
    await c.insertOne({
      _id: 'i',
      items: [
        { id: 'a', state: 'new' },
        { id: 'b', state: 'new' },
        { id: 'c', state: 'new' },
      ],
    });

    await c.updateOne(
      { _id: 'i' },
      { $set: { 'items.$[it].state': 'done' } },
      { arrayFilters: [{ 'it.id': { $in: ['a', 'c'] } }] },
    );
    expect((await c.findOne({ _id: 'i' }))?.items).toEqual([
      { id: 'a', state: 'done' },
      { id: 'b', state: 'new' },
      { id: 'c', state: 'done' },
    ]);
  });

  it('given bulkWrite of upserts, then new keys are inserted, existing ones updated, and counts reported', async () => {
    const c = fresh<{ _id: string; label: string; createdBy?: string }>();
    await c.insertOne({ _id: 'p1', label: 'old', createdBy: 'seed-0' });

    const ops = ['p1', 'p2', 'p3'].map((key) => ({
      updateOne: {
        filter: { _id: key },
        update: { $set: { label: `label-${key}` }, $setOnInsert: { createdBy: 'seed-1' } },
        upsert: true,
      },
    }));
    const result = await c.bulkWrite(ops, { ordered: true });
    expect(result.upsertedCount).toBe(2);
    expect(result.matchedCount).toBe(1);

    const replace = await c.bulkWrite([
      { replaceOne: { filter: { _id: 'p3' }, replacement: { label: 'replaced' }, upsert: true } },
      { replaceOne: { filter: { _id: 'p4' }, replacement: { label: 'new' }, upsert: true } },
    ]);
    expect(replace.upsertedCount).toBe(1);
    expect(replace.matchedCount).toBe(1);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'p1', label: 'label-p1', createdBy: 'seed-0' },
      { _id: 'p2', label: 'label-p2', createdBy: 'seed-1' },
      { _id: 'p3', label: 'replaced' },
      { _id: 'p4', label: 'new' },
    ]);
  });

  it('given an unordered insertMany with a duplicate, then the other documents are written and the error has code 11000', async () => {
    const c = fresh<{ _id: string }>();
    await c.insertOne({ _id: 'b' });

    const error = await c.insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }], { ordered: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as MongoServerError).code).toBe(11000);
    expect(await c.countDocuments()).toBe(3);
  });

  it('given 5,000 documents, then find with sort and limit, and a batched cursor over all of them, return them in order', async () => {
    const c = fresh<{ _id: number; group: string; n: number }>();
    const docs = Array.from({ length: 5_000 }, (_, i) => ({ _id: i, group: i % 2 === 0 ? 'even' : 'odd', n: i }));
    await c.insertMany(docs);

    const top = await c.find({ group: 'odd' }).sort({ n: -1 }).limit(3).toArray();
    expect(top.map((d) => d._id)).toEqual([4_999, 4_997, 4_995]);

    const skipped = await c.find({}, { projection: { n: 1 } }).sort({ n: 1 }).skip(10).limit(2).toArray();
    expect(skipped).toEqual([
      { _id: 10, n: 10 },
      { _id: 11, n: 11 },
    ]);

    let expected = 0;
    for await (const doc of c.find().sort({ _id: 1 }).batchSize(500)) {
      expect(doc._id).toBe(expected);
      expected += 1;
    }
    expect(expected).toBe(5_000);
  });

  it('given query operators, then $in, $exists, ranges and $or select the right documents', async () => {
    const c = fresh<{ _id: number; state?: string; at?: Date }>();
    await c.insertMany([
      { _id: 1, state: 'active', at: new Date('2025-01-01T00:00:00Z') },
      { _id: 2, state: 'suspended', at: new Date('2025-02-01T00:00:00Z') },
      { _id: 3, state: 'terminated' },
      { _id: 4 },
    ]);

    const ids = async (filter: Document) => (await c.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ state: { $in: ['active', 'suspended'] } })).toEqual([1, 2]);
    expect(await ids({ state: { $exists: false } })).toEqual([4]);
    expect(await ids({ at: { $gte: new Date('2025-01-15T00:00:00Z') } })).toEqual([2]);
    expect(await ids({ $or: [{ _id: { $lt: 2 } }, { state: 'terminated' }] })).toEqual([1, 3]);
    expect(await ids({ state: { $ne: 'active' } })).toEqual([2, 3, 4]);
  });

  it('given documents, then countDocuments and deleteMany report the right numbers', async () => {
    const c = fresh<{ _id: number; month: string }>();
    await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i, month: i < 4 ? '2025-01' : '2025-02' })));

    expect(await c.countDocuments({ month: '2025-01' })).toBe(4);
    expect(await c.countDocuments()).toBe(10);
    expect((await c.deleteMany({ month: '2025-01' })).deletedCount).toBe(4);
    expect((await c.deleteOne({ _id: 9 })).deletedCount).toBe(1);
    expect(await c.countDocuments()).toBe(5);
  });

  it('given createIndex on nested fields and a TTL index, then both are accepted and listed', async () => {
    const c = fresh();
    await c.insertOne({ line: { id: 'l1', account: 'A' }, expireAt: new Date() });

    const nested = await c.createIndex({ 'line.account': 1, 'line.id': 1 }, { name: 'by_line' });
    const ttl = await c.createIndex({ expireAt: 1 }, { name: 'ttl', expireAfterSeconds: 3_600 });
    expect([nested, ttl]).toEqual(['by_line', 'ttl']);
    // createIndex is idempotent for the same specification (start-up code calls it every time).
    expect(await c.createIndex({ 'line.account': 1, 'line.id': 1 }, { name: 'by_line' })).toBe('by_line');

    const indexes = await c.listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'by_line')?.key).toEqual({ 'line.account': 1, 'line.id': 1 });
    expect(indexes.find((i) => i.name === 'ttl')?.expireAfterSeconds).toBe(3_600);
    expect(await c.find({ 'line.account': 'A' }).toArray()).toHaveLength(1);
  });

  it('given a version-guarded document and 20 parallel callers per version, then exactly one caller wins each version', async () => {
    const c = fresh<{ _id: string; version: number; owner: number | null }>();
    await c.insertOne({ _id: 'hot', version: 0, owner: null });

    const rounds = 10;
    for (let version = 0; version < rounds; version += 1) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, caller) =>
          c.findOneAndUpdate(
            { _id: 'hot', version },
            { $set: { owner: caller }, $inc: { version: 1 } },
            { returnDocument: 'after' },
          ),
        ),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.version).toBe(version + 1);
    }
    expect((await c.findOne({ _id: 'hot' }))?.version).toBe(rounds);
  });

  it('given 20 parallel callers each applying $inc ten times, then no increment is lost', async () => {
    const c = fresh<{ _id: string; n: number }>();
    await c.insertOne({ _id: 'counter', n: 0 });

    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 10; i += 1) {
          await c.updateOne({ _id: 'counter' }, { $inc: { n: 1 } });
        }
      }),
    );
    expect((await c.findOne({ _id: 'counter' }))?.n).toBe(200);
  });
});
