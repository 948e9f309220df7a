import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections, ensureIndexes, type Collections, type LineDocument, type OutboxEntry } from '../../src/store/documents.js';
import { groupCommit } from '../../src/store/group-commit.js';
import { GuardedDocumentMissingError, guardedBulk } from '../../src/store/guarded-bulk.js';
import { writeLine, type LineWrite } from '../../src/store/line-writes.js';
import { mongoUrlWithDatabase, services, uniqueName } from '../support/services.js';

const NOW = '2026-11-15T10:00:00.000Z';

function entry(id: string): OutboxEntry {
  return { id, subject: `t.mon.A.${id}`, event: { id, type: 'opensim.test', source: 'test', specversion: '1.0', time: NOW, subject: 'x', datacontenttype: 'application/json', data: {} } as never };
}

function line(id: string, version: number, holds: string[], outbox: OutboxEntry[] = []): Document {
  return { _id: id, version, clientAccountId: 'A', serviceRef: 'S', holds, outbox, decidedRequestIds: [], month: null, line: { lineId: id } };
}

/**
 * Group commit (src/store/group-commit.ts): the guarded writes of jobs running at the same time go
 * in one bulkWrite, and each job still gets its own outcome. A bulk update only reports totals, so
 * each guarded update is an upsert on its guard filter: a lost guard is that operation's own
 * duplicate key on `_id`. These tests force a lost guard inside a batch and check that it is never
 * taken for a win, on the real test server.
 */
describe(`group commit (${new URL(services().mongoUrl).host})`, () => {
  let client: MongoClient;
  let db: Db;
  let c: Collections;

  beforeAll(async () => {
    client = await new MongoClient(mongoUrlWithDatabase(uniqueName('gc'))).connect();
    db = client.db();
    c = collections(db);
    await ensureIndexes(c);
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
  });

  it('given a bulk of guarded updates with one stale guard and one refused by holds, then each gets its own outcome and the stale one changes nothing', async () => {
    const lines = c.lines as unknown as Collection<Document>;
    await lines.insertMany([line('G1', 3, ['R1']), line('G2', 7, ['R2']), line('G3', 1, ['R3']), line('G4', 2, ['R4'])]);
    const bump = (id: string, version: number, set: Document = {}) => ({ filter: { _id: id, version }, update: { $set: { touched: true, ...set }, $inc: { version: 1 } } });

    const outcomes = await guardedBulk(lines, [bump('G1', 3), bump('G2', 6), bump('G3', 1, { holds: ['R4'] }), bump('G4', 2)]);

    expect(outcomes).toEqual([
      { ok: true, value: { status: 'won' } },
      { ok: true, value: { status: 'lost' } },
      { ok: true, value: { status: 'refused', index: 'holds_1' } },
      { ok: true, value: { status: 'won' } },
    ]);
    const after = new Map((await lines.find({ _id: { $in: ['G1', 'G2', 'G3', 'G4'] } } as never).toArray()).map((d) => [String(d._id), d]));
    expect(after.get('G1')).toMatchObject({ version: 4, touched: true });
    // The lost guard neither updated the line nor created anything.
    expect(after.get('G2')).toEqual(line('G2', 7, ['R2']));
    expect(after.get('G3')).toMatchObject({ version: 1, holds: ['R3'] });
    expect(after.get('G4')).toMatchObject({ version: 3, touched: true });
    expect(await lines.countDocuments({})).toBe(4);
  });

  it('given a guard on a document that does not exist, then that operation fails rather than pass for a win', async () => {
    const lines = c.lines as unknown as Collection<Document>;
    const [outcome] = await guardedBulk(lines, [{ filter: { _id: 'NEVER', version: 0 }, update: { $set: { x: 1 }, $inc: { version: 1 } } }]);
    expect(outcome!.ok).toBe(false);
    expect(!outcome!.ok && outcome!.error).toBeInstanceOf(GuardedDocumentMissingError);
  });

  it('given line writes of several jobs in the same turn, one of them stale, then they go in one bulkWrite and only the stale one is lost, its marker removed', async () => {
    const lines = c.lines as unknown as Collection<Document>;
    const ids = Array.from({ length: 6 }, (_, k) => `J${k}`);
    await lines.insertMany(ids.map((id, k) => line(id, 10, [`RJ${k}`], [entry(`${id}-old`)])));
    const gc = groupCommit(c);
    const before = { ...gc.lineWrites.stats };
    const write = (id: string, version: number): LineWrite => ({ lineId: id, version, asRead: { outbox: [entry(`${id}-old`)] }, set: { note: id }, outbox: [entry(`${id}-new`)] });

    // Job J3 decided on version 9: another writer wrote the line since.
    const results = await Promise.all(ids.map((id) => writeLine(c, write(id, id === 'J3' ? 9 : 10), NOW)));

    expect(gc.lineWrites.stats.batches - before.batches).toBe(1);
    expect(gc.lineWrites.stats.items - before.items).toBe(6);
    for (const [k, result] of results.entries()) {
      if (ids[k] === 'J3') {
        expect(result).toEqual({ status: 'lost', lineId: 'J3' });
        continue;
      }
      expect(result.status).toBe('committed');
      // What was there, then what was appended: the whole pending outbox, with no read-back.
      expect(result.status === 'committed' && result.outbox.map((e) => e.id)).toEqual([`${ids[k]}-old`, `${ids[k]}-new`]);
    }
    const stored = new Map((await c.lines.find({ _id: { $in: ids } }).toArray()).map((d) => [d._id, d as LineDocument & { note?: string }]));
    expect(stored.get('J3')).toMatchObject({ version: 10, outbox: [entry('J3-old')] });
    expect(stored.get('J3')!.note).toBeUndefined();
    expect(stored.get('J0')).toMatchObject({ version: 11, note: 'J0', updatedAt: NOW });
    // Markers: one per committed write (removed once published), none left for the write that lost.
    const markers = await c.outboxMarkers.find({ collection: 'lines', docId: { $in: ids } }).toArray();
    expect(markers.map((m) => m.docId).sort()).toEqual(['J0', 'J1', 'J2', 'J4', 'J5']);
    expect(markers.every((m) => m.events.length === 1 && m.events[0] === `${m.docId}-new`)).toBe(true);
  });

  it('given many reads of the same kind in one turn, then they are answered by one $in query each, a key asked twice with copies of its own', async () => {
    const gc = groupCommit(c);
    const before = { ...gc.lines.stats };
    const [a, b, missing, again] = await Promise.all([gc.lines.submit('G1'), gc.lines.submit('G4'), gc.lines.submit('NONE'), gc.lines.submit('G1')]);
    expect(gc.lines.stats.batches - before.batches).toBe(1);
    expect(a?._id).toBe('G1');
    expect(b?._id).toBe('G4');
    expect(missing).toBeNull();
    expect(again).toEqual(a);
    expect(again).not.toBe(a);
    const [holder, free] = await Promise.all([gc.holders.submit('R4'), gc.holders.submit('R-free')]);
    expect(holder?._id).toBe('G4');
    expect(free).toBeNull();
  });
});
