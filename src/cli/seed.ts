import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { loadConfig } from '../config/config.js';
import { parseFixture, type Fixture } from '../contract/fixture.js';
import { seedFixture, type SeedSummary } from '../store/seed.js';
import { hostOf } from './operator-connections.js';
import { progress, type ProgressStream } from './progress.js';
import { entriesOf, mergeSummaries, seedChunks } from './seed-chunks.js';

const USAGE = `usage: opensim seed <file>

Loads a fixture file (CONTRACT.md, "Fixture file") into MongoDB (MONGO_URL). The whole file is
checked first: a bad file is refused, naming each bad entry, and nothing is written. Seeding
upserts by key, so it is idempotent. On a terminal, a large file (more than 10,000 lines, written
in pieces) shows its progress.
`;

/** A file that cannot be seeded: reported, exit code 1, nothing written. */
export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

/** `opensim seed <file>`: validates the whole file, then upserts it; prints a one-line JSON summary. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`opensim seed: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`opensim seed: expected one fixture file${parsed.positionals.length > 1 ? `, got ${parsed.positionals.length}` : ''}\n\n${USAGE}`);
    return 2;
  }
  const file = parsed.positionals[0]!;
  let fixture: Fixture;
  try {
    fixture = await loadFixture(file);
  } catch (err) {
    if (!(err instanceof FixtureError)) throw err;
    process.stderr.write(`opensim seed: ${err.message}\n`);
    return 1;
  }
  const { MONGO_URL } = loadConfig();
  const client = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000, appName: 'opensim-seed' });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new Error(`cannot reach MongoDB at ${hostOf(MONGO_URL)} (MONGO_URL): ${(err as Error).message}; start it with: bash scripts/services.sh up`);
    }
    const summary = await seedInPieces(client.db(), fixture);
    process.stdout.write(`${JSON.stringify({ file, ...summary })}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

/** Seeds a validated fixture piece by piece, with progress on a terminal (`npm start` seeds through here too). */
export async function seedInPieces(db: Db, fixture: Fixture, stream: ProgressStream = process.stderr, linesPerChunk?: number): Promise<SeedSummary> {
  const chunks = seedChunks(fixture, linesPerChunk);
  // A file written in one piece is quick: no progress line for it.
  const bar = progress('seeding', chunks.length > 1 ? entriesOf(fixture) : 0, stream);
  const summaries: SeedSummary[] = [];
  for (const chunk of chunks) {
    summaries.push(await seedFixture(db, chunk));
    // Services repeated in later pieces count once (mergeSummaries); so does their progress.
    bar.advance(entriesOf(chunk) - (summaries.length > 1 ? chunk.services.length : 0));
  }
  bar.done();
  return mergeSummaries(summaries);
}

export async function loadFixture(file: string): Promise<Fixture> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FixtureError(`cannot read '${file}': ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FixtureError(`'${file}' is not JSON: ${(err as Error).message}`);
  }
  const parsed = parseFixture(json);
  if (!parsed.ok) {
    throw new FixtureError(`'${file}' is invalid, nothing was written (${parsed.errors.length} problem${parsed.errors.length === 1 ? '' : 's'}):\n  ${parsed.errors.join('\n  ')}`);
  }
  return parsed.fixture;
}
