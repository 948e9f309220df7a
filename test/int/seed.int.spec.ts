import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseFixture, type Fixture } from '../../src/contract/fixture.js';
import { collections, GUARD_INDEXES } from '../../src/store/documents.js';
import { seedFixture } from '../../src/store/seed.js';
import { mongoUrlWithDatabase, services, uniqueName } from '../support/services.js';

const SOURCE_DOCUMENT = fileURLToPath(new URL('../../fixtures/source-document.json', import.meta.url));
const CATALOG = fileURLToPath(new URL('../../fixtures/catalog.json', import.meta.url));

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

async function sourceDocument(): Promise<Fixture> {
  const parsed = parseFixture(await readJson(SOURCE_DOCUMENT));
  if (!parsed.ok) throw new Error(`fixtures/source-document.json is invalid:\n${parsed.errors.join('\n')}`);
  return parsed.fixture;
}

/** Every document of the seeded collections, sorted by key. */
async function snapshot(db: Db): Promise<{ products: unknown[]; services: unknown[]; resources: unknown[]; lines: unknown[] }> {
  const c = collections(db);
  const all = async (name: keyof typeof c) => (await c[name].find({}).sort({ _id: 1 }).toArray()) as unknown[];
  return { products: await all('products'), services: await all('services'), resources: await all('resources'), lines: await all('lines') };
}

async function opensim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
  try {
    return { code: await main(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

describe(`opensim seed (${new URL(services().mongoUrl).host})`, () => {
  let client: MongoClient;
  let dbName: string;
  let db: Db;
  let dir: string;
  const savedMongoUrl = process.env.MONGO_URL;

  beforeAll(async () => {
    client = new MongoClient(services().mongoUrl, { serverSelectionTimeoutMS: 5_000 });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'opensim-seed-'));
  });

  afterAll(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dbName = uniqueName('seed');
    db = client.db(dbName);
    process.env.MONGO_URL = mongoUrlWithDatabase(dbName);
  });

  afterEach(async () => {
    if (savedMongoUrl === undefined) delete process.env.MONGO_URL;
    else process.env.MONGO_URL = savedMongoUrl;
    await db.dropDatabase().catch(() => {});
  });

  it('given the source document fixture, when seeded, then products, service, resources and line are stored by key', async () => {
    const summary = await seedFixture(db, await sourceDocument());

    expect(summary).toEqual({
      products: { inserted: 4, updated: 0, unchanged: 0 },
      services: { inserted: 1, updated: 0, unchanged: 0 },
      resources: { inserted: 4, updated: 0, unchanged: 0 },
      lines: { inserted: 1, updated: 0, unchanged: 0 },
    });
    const { products, services: serviceDocs, resources, lines } = await snapshot(db);
    const catalog = (await readJson(CATALOG)) as Fixture;
    expect(products).toEqual(
      [...catalog.products].sort((a, b) => (a.productRef < b.productRef ? -1 : 1)).map((product) => ({ _id: product.productRef, ...product })),
    );
    expect(serviceDocs).toEqual([
      { _id: 'SRV-OPENSIM-000142', serviceRef: 'SRV-OPENSIM-000142', clientAccountId: 'CA-100237', clientName: 'Atelier Durand SAS', site: 'Paris 8e - Siège', state: 'active' },
    ]);
    expect(resources).toEqual([
      { _id: 'RES-000451', resourceId: 'RES-000451', serviceRef: 'SRV-OPENSIM-000142', productRef: 'FPC367679-COMPTEUR', state: 'available', lineId: null },
      { _id: 'RES-000452', resourceId: 'RES-000452', serviceRef: 'SRV-OPENSIM-000142', productRef: 'FPC367679', state: 'active', lineId: 'LINE-000318' },
      { _id: 'RES-000453', resourceId: 'RES-000453', serviceRef: 'SRV-OPENSIM-000142', productRef: 'FPC367680', state: 'available', lineId: null },
      { _id: 'RES-000454', resourceId: 'RES-000454', serviceRef: 'SRV-OPENSIM-000142', productRef: 'FPC367678', state: 'available', lineId: null },
    ]);
    expect(lines).toEqual([
      {
        _id: 'LINE-000318',
        version: 0,
        clientAccountId: 'CA-100237',
        serviceRef: 'SRV-OPENSIM-000142',
        line: {
          lineId: 'LINE-000318',
          serviceRef: 'SRV-OPENSIM-000142',
          msisdn: '+33612345678',
          iccid: '8933102407123456780',
          rio: '02E7K4M9Q2XB',
          user: 'Camille Martin',
          state: 'active',
          activatedAt: '2026-09-30T22:00:00.000Z',
          activeResourceId: 'RES-000452',
          planHistory: [{ resourceId: 'RES-000452', productRef: 'FPC367679', effectiveAt: '2026-09-30T22:00:00.000Z' }],
          lastAppliedRequestedAt: null,
        },
        month: null,
        decidedRequestIds: [],
        holds: ['RES-000452'],
        outbox: [],
      },
    ]);
  });

  it('given a seeded database, then every guarded filter has a unique index on exactly its keys (the test server scans the collection otherwise)', async () => {
    await seedFixture(db, await sourceDocument());
    for (const [name, keys] of Object.entries(GUARD_INDEXES)) {
      const indexes = await db.collection(name).listIndexes().toArray();
      for (const key of keys) expect(indexes.find((i) => JSON.stringify(i.key) === JSON.stringify(key)), `${name} ${JSON.stringify(key)}`).toMatchObject({ unique: true });
    }
  });

  it('given a seeded database, when the same fixture is seeded again, then nothing changes: every document matched, none modified, version unchanged', async () => {
    const fixture = await sourceDocument();
    await seedFixture(db, fixture);
    const before = await snapshot(db);

    const summary = await seedFixture(db, fixture);

    expect(summary).toEqual({
      products: { inserted: 0, updated: 0, unchanged: 4 },
      services: { inserted: 0, updated: 0, unchanged: 1 },
      resources: { inserted: 0, updated: 0, unchanged: 4 },
      lines: { inserted: 0, updated: 0, unchanged: 1 },
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it('given a line changed by the system since seeding, when re-seeded with new descriptive fields, then only those change and the version moves on (no write decided on the line as it was lands after): history, outbox and resource states stay', async () => {
    const fixture = await sourceDocument();
    await seedFixture(db, fixture);
    const c = collections(db);
    // What a plan change to the 5 GiB resource writes (simplified): history, version, outbox, resource states.
    const changed = { resourceId: 'RES-000454', productRef: 'FPC367678', effectiveAt: '2026-11-15T09:00:00.000Z', requestId: 'req-1' };
    await c.lines.updateOne(
      { _id: 'LINE-000318' },
      {
        $set: { 'line.activeResourceId': 'RES-000454', 'line.lastAppliedRequestedAt': '2026-11-15T08:59:00.000Z', decidedRequestIds: ['req-1'] },
        $push: { 'line.planHistory': changed, outbox: { id: 'evt-1', subject: 'opensim.evt.plan-change.CA-100237', event: {} as never } },
        $inc: { version: 1 },
      },
    );
    await c.resources.updateOne({ _id: 'RES-000452' }, { $set: { state: 'available', lineId: null } });
    await c.resources.updateOne({ _id: 'RES-000454' }, { $set: { state: 'active', lineId: 'LINE-000318' } });
    const before = await snapshot(db);
    const { msisdn: _dropped, ...lineWithoutMsisdn } = fixture.lines[0]!;
    const reseeded: Fixture = { ...fixture, lines: [{ ...lineWithoutMsisdn, user: 'Camille Durand', state: 'suspended' }] };

    const summary = await seedFixture(db, reseeded);

    expect(summary.lines).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    expect(summary.resources).toEqual({ inserted: 0, updated: 0, unchanged: 4 });
    const after = await snapshot(db);
    expect(after.resources).toEqual(before.resources);
    const { msisdn: _removed, ...lineBefore } = (before.lines[0] as { line: Record<string, unknown> }).line;
    expect(after.lines).toEqual([{ ...(before.lines[0] as object), version: 2, line: { ...lineBefore, user: 'Camille Durand', state: 'suspended' } }]);
    expect(after.lines[0]).toMatchObject({ version: 2, line: { activeResourceId: 'RES-000454', planHistory: [{ resourceId: 'RES-000452' }, changed] } });
  });

  it('given a resource seeded available, when a later fixture adds a line active on it, then the resource becomes active on that line', async () => {
    const fixture = await sourceDocument();
    await seedFixture(db, { ...fixture, lines: [], resources: fixture.resources.map((r) => ({ ...r, state: 'available' as const })) });

    await seedFixture(db, fixture);

    const resource = await collections(db).resources.findOne({ _id: 'RES-000452' });
    expect(resource).toMatchObject({ state: 'active', lineId: 'LINE-000318' });
  });

  it('given the source document, when `opensim seed` runs with MONGO_URL, then it exits 0 and prints a one-line JSON summary', async () => {
    const { code, stdout, stderr } = await opensim('seed', SOURCE_DOCUMENT);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toMatchObject({ products: { inserted: 4 }, services: { inserted: 1 }, resources: { inserted: 4 }, lines: { inserted: 1 } });
    expect(await collections(db).lines.countDocuments()).toBe(1);
  });

  it('given an invalid fixture, when `opensim seed` runs, then it exits 1 naming each bad entry and writes nothing', async () => {
    const fixture = (await readJson(SOURCE_DOCUMENT)) as Fixture;
    const broken = {
      ...fixture,
      products: fixture.products.map((p, i) => (i === 2 ? { ...p, category: 'UNLIMITED' } : p)),
      resources: [...fixture.resources, { resourceId: 'RES-000999', serviceRef: 'SRV-NOPE', productRef: 'FPC367678', state: 'available' }],
      lines: fixture.lines.map((line) => ({ ...line, activeResourceId: 'RES-000453' })),
    };
    const file = join(dir, 'broken.json');
    await writeFile(file, JSON.stringify(broken));

    const schema = await opensim('seed', file);
    expect(schema.code).toBe(1);
    expect(schema.stderr).toContain('products[2].category');
    expect(schema.stderr).toContain('nothing was written');

    // Schema valid, references broken: every bad entry is named.
    await writeFile(file, JSON.stringify({ ...broken, products: fixture.products }));
    const references = await opensim('seed', file);
    expect(references.code).toBe(1);
    expect(references.stderr).toContain("resources[4].serviceRef: unknown service 'SRV-NOPE'");
    expect(references.stderr).toContain("lines[0].activeResourceId: resource 'RES-000453' is available, must be active");
    expect(references.stderr).toContain('resources[1].state: active but no line of the file uses it');

    const c = collections(db);
    const counts = await Promise.all([c.products, c.services, c.resources, c.lines].map((collection) => collection.countDocuments()));
    expect(counts).toEqual([0, 0, 0, 0]);
  });

  it('given a missing file or a file that is not JSON, when `opensim seed` runs, then it exits 1 with a clear message', async () => {
    const missing = await opensim('seed', join(dir, 'absent.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read '.*absent\.json'/);

    const file = join(dir, 'not.json');
    await writeFile(file, '{ products: ');
    const notJson = await opensim('seed', file);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain("not.json' is not JSON");

    const noArgument = await opensim('seed');
    expect(noArgument.code).toBe(2);
    expect(noArgument.stderr).toContain('usage: opensim seed <file>');
  });
});
