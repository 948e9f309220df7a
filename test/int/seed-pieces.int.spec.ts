import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedInPieces } from '../../src/cli/seed.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { collections } from '../../src/store/documents.js';
import { seedFixture } from '../../src/store/seed.js';
import { CATALOG, fleet } from '../support/pipeline.js';
import { services, uniqueName } from '../support/services.js';

/** Every document of the seeded collections, sorted by key. */
async function snapshot(db: Db): Promise<unknown[][]> {
  const c = collections(db);
  return Promise.all([c.products, c.services, c.resources, c.lines].map((collection) => collection.find({}).sort({ _id: 1 }).toArray()));
}

describe('opensim seed of a large file, in pieces with progress', () => {
  let client: MongoClient;
  const databases: Db[] = [];
  const database = () => {
    const db = client.db(uniqueName('pieces'));
    databases.push(db);
    return db;
  };

  beforeAll(async () => {
    client = await new MongoClient(services().mongoUrl, { serverSelectionTimeoutMS: 5_000 }).connect();
  });
  afterAll(async () => {
    for (const db of databases) await db.dropDatabase().catch(() => {});
    await client?.close();
  });

  it('writes the same documents and counts as one seed of the whole file, and shows progress on a terminal only', async () => {
    const a = fleet('ACA', 25);
    const b = fleet('ACB', 8);
    const fixture: Fixture = { ...CATALOG, services: [...a.services, ...b.services], resources: [...a.resources, ...b.resources], lines: [...a.lines, ...b.lines] };
    const whole = database();
    const pieces = database();
    const expected = await seedFixture(whole, fixture);

    const drawn: string[] = [];
    const summary = await seedInPieces(pieces, fixture, { isTTY: true, write: (text) => drawn.push(text) }, 10);
    expect(summary).toEqual(expected);
    expect(await snapshot(pieces)).toEqual(await snapshot(whole));
    const total = fixture.products.length + 2 + fixture.resources.length + 33;
    expect(drawn.at(-2)).toContain(`seeding ${total} / ${total} (100 %)`);
    expect(drawn.at(-1)).toBe('\n');

    const quiet: string[] = [];
    const again = await seedInPieces(pieces, fixture, { isTTY: false, write: (text) => quiet.push(text) }, 10);
    expect(again.lines).toEqual({ inserted: 0, updated: 0, unchanged: 33 });
    expect(quiet).toEqual([]);

    // One piece is quick: no progress line even on a terminal.
    const small: string[] = [];
    await seedInPieces(database(), fixture, { isTTY: true, write: (text) => small.push(text) }, 100);
    expect(small).toEqual([]);
  });
});
