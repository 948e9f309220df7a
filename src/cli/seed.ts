import { readFile } from 'node:fs/promises';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../config/config.js';
import { parseFixture, type Fixture } from '../contract/fixture.js';
import { seedFixture } from '../store/seed.js';

const USAGE = 'usage: opensim seed <file>   (a fixture file, CONTRACT.md "Fixture file"; MongoDB from MONGO_URL)\n';

/** A file that cannot be seeded: reported, exit code 1, nothing written. */
class FixtureError extends Error {}

/** `opensim seed <file>`: validates the whole file, then upserts it; prints a one-line JSON summary. */
export async function run(args: string[]): Promise<number> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.length !== 1) {
    process.stderr.write(`opensim seed: expected one fixture file\n${USAGE}`);
    return 2;
  }
  const file = args[0]!;
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
    const summary = await seedFixture(client.db(), fixture);
    process.stdout.write(`${JSON.stringify({ file, ...summary })}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

async function loadFixture(file: string): Promise<Fixture> {
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

/** Host and port only: the URL may carry credentials. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparsable URL)';
  }
}
