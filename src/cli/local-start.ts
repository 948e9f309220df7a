import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import type { RunningSystem } from '../app/system.js';
import { loadConfig, type Config } from '../config/config.js';
import { collections } from '../store/documents.js';
import type { SeedSummary } from '../store/seed.js';
import { requestCommand, suggestFirstRequest } from './first-request.js';
import { UsageError } from './io.js';
import { defaults, planServers, startLocalServers } from './local-servers.js';
import { hostOf } from './operator-connections.js';
import { parseStartArgs, runUntilSignal } from './run-system.js';
import { loadFixture, seedInPieces } from './seed.js';
import { START_ROLES_HELP } from './start.js';

const LOCAL_EVENTS_MAX_MIB = 1024;
const SOURCE_DOCUMENT = resolve(import.meta.dirname, '../../fixtures/source-document.json');

const USAGE = `usage: npm start [-- --roles <role>,<role>…]

The whole system on this machine, to try it (production runs opensim start, which never starts
or seeds anything):
  - With no NATS_URL, REDIS_URL or MONGO_URL set, it uses the local servers (those of
    bash scripts/services.sh, else the default addresses) and starts them with
    bash scripts/services.sh up when they do not answer. They keep running after Ctrl-C:
    bash scripts/services.sh down stops them. An empty database is then seeded with
    fixtures/source-document.json, OPENSIM_ADMIN_TOKEN is generated when not set, and the
    events stream is kept under 1 GiB (OPENSIM_EVENTS_MAX_MIB) unless set.
  - With any of those URLs set, it starts nothing and seeds nothing.
  - It runs every role (or those of --roles) and, once ready, prints where to look.

${START_ROLES_HELP}
`;

/** What local mode did, for the hints. */
interface LocalMode {
  startedServers: boolean;
  seeded: SeedSummary | undefined;
  generatedToken: boolean;
}

const say = (text: string) => process.stderr.write(`npm start: ${text}\n`);

/** `npm start`: local servers and data when nothing is configured, then the system, then where to look. */
export async function runLocal(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  try {
    return await startLocal(args, env);
  } catch (err) {
    // What went wrong and what to do, without a stack: the services script said its part above.
    say(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

async function startLocal(args: string[], env: Record<string, string | undefined>): Promise<number> {
  let options;
  try {
    options = parseStartArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`npm start: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const plan = await planServers(env);
  let config: Config;
  let local: LocalMode | undefined;
  if (plan.mode === 'configured') {
    say('a server URL is set (NATS_URL, REDIS_URL or MONGO_URL): using the servers as configured; nothing is started or seeded');
    config = loadConfig(env);
  } else {
    let urls = plan.urls;
    if (plan.start) {
      say(`no server URL is set and nothing answers at ${plan.down.join(', ')}: starting the local servers with bash scripts/services.sh up (the first time on a machine it installs and builds them, about a minute)`);
      urls = await startLocalServers(env);
    } else {
      say(`no server URL is set: using the local servers answering at ${Object.values(urls).map(hostOf).join(', ')}`);
    }
    // The console and /metrics are off without a token; a local run wants them on.
    const generatedToken = !env.OPENSIM_ADMIN_TOKEN;
    config = loadConfig({
      ...env,
      ...urls,
      OPENSIM_ADMIN_TOKEN: env.OPENSIM_ADMIN_TOKEN || randomBytes(18).toString('base64url'),
      // JetStream reserves the events stream's whole size limit up front, against the server's
      // storage: on a small disk a large limit is refused and the system is never ready. 1 GiB is plenty here.
      OPENSIM_EVENTS_MAX_MIB: env.OPENSIM_EVENTS_MAX_MIB || String(LOCAL_EVENTS_MAX_MIB),
    });
    local = { startedServers: plan.start, seeded: await seedIfEmpty(config.MONGO_URL), generatedToken };
  }

  let stopping = false;
  return runUntilSignal(config, options, {
    started: (system) => void announceWhenReady(system, config, local, options.groups?.join(', ') ?? 'every role', () => stopping),
    stopping: () => {
      stopping = true;
    },
    stopped: () => say(local ? 'stopped. The local servers keep running: bash scripts/services.sh down stops them' : 'stopped'),
  });
}

/** Seeds the source document when the database holds no product, service, resource or line. */
async function seedIfEmpty(mongoUrl: string): Promise<SeedSummary | undefined> {
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 10_000, appName: 'opensim-npm-start' });
  try {
    await client.connect().catch((err: Error) => {
      throw new Error(`cannot reach MongoDB at ${hostOf(mongoUrl)} to look for data to seed: ${err.message}`);
    });
    const c = collections(client.db());
    const counts = await Promise.all([c.products, c.services, c.resources, c.lines].map((collection) => collection.countDocuments({}, { limit: 1 })));
    if (counts.some((n) => n > 0)) return undefined;
    const summary = await seedInPieces(client.db(), await loadFixture(SOURCE_DOCUMENT));
    say(`the database was empty: seeded fixtures/source-document.json (${summary.services.inserted} service, ${summary.resources.inserted} resources, ${summary.lines.inserted} line)`);
    return summary;
  } finally {
    await client.close();
  }
}

const NOT_READY_NOTICE_MS = 20_000;

/** Waits for /readyz to be 200, then prints where to look; says so once if that takes long. */
async function announceWhenReady(system: RunningSystem, config: Config, local: LocalMode | undefined, roles: string, stopping: () => boolean): Promise<void> {
  const since = Date.now();
  let noticed = false;
  for (;;) {
    if (stopping()) return;
    const report = await system.readiness.check();
    if (report.ready) break;
    if (!noticed && Date.now() - since > NOT_READY_NOTICE_MS) {
      noticed = true;
      say(`not ready after ${NOT_READY_NOTICE_MS / 1000} s, still waiting: ${JSON.stringify(report)}`);
    }
    await new Promise((r) => setTimeout(r, 250).unref());
  }
  const suggestion = await suggestFirstRequest(collections(system.connections.mongo.db())).catch(() => undefined);
  process.stderr.write(hints(system.httpPort, config, local, roles, suggestion === undefined ? requestCommand(undefined, {}) : requestCommand(suggestion, requestEnv(config, local))));
}

/** The variables `opensim request` needs in another shell: local URLs off the defaults, the prefix. */
function requestEnv(config: Config, local: LocalMode | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (local && config.NATS_URL !== defaults().NATS_URL) env.NATS_URL = config.NATS_URL;
  if (config.OPENSIM_SUBJECT_PREFIX !== 'opensim') env.OPENSIM_SUBJECT_PREFIX = config.OPENSIM_SUBJECT_PREFIX;
  return env;
}

function hints(port: number, config: Config, local: LocalMode | undefined, roles: string, tryCommand: string): string {
  const base = `http://127.0.0.1:${port}`;
  const token = local?.generatedToken ? config.OPENSIM_ADMIN_TOKEN! : config.OPENSIM_ADMIN_TOKEN ? '$OPENSIM_ADMIN_TOKEN' : undefined;
  const rows: [string, string][] = [];
  if (local) rows.push(['servers', `${[config.NATS_URL, config.REDIS_URL, config.MONGO_URL].join('  ')}${local.startedServers ? '  (started now by bash scripts/services.sh up)' : ''}`]);
  if (local?.seeded) rows.push(['data', 'fixtures/source-document.json, seeded into the empty database']);
  rows.push(['readiness', `${base}/readyz`], ['console', `${base}/`]);
  rows.push(['metrics', token ? `curl -H "Authorization: Bearer ${token}" ${base}/metrics` : `${base}/metrics  (off: set OPENSIM_ADMIN_TOKEN, at least 16 characters)`]);
  if (local?.generatedToken) rows.push(['token', `${token}  (generated for this run, for the console and /metrics; set OPENSIM_ADMIN_TOKEN to choose it)`]);
  rows.push(['try', `${tryCommand}${local ? '' : '  (with this NATS_URL and OPENSIM_SUBJECT_PREFIX)'}`]);
  rows.push(['stop', local ? 'Ctrl-C stops opensim; the local servers keep running (bash scripts/services.sh down stops them)' : 'Ctrl-C']);
  const title = `opensim is ready (${roles}, one process) on ${local ? 'local servers' : 'the configured servers'}`;
  return `\n${title}\n${rows.map(([name, text]) => `  ${name.padEnd(10)} ${text}`).join('\n')}\n\n`;
}
