import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { serverAddresses } from '../../src/config/server-addresses.js';
import { runServicesScript } from './services-script.js';

export interface ServiceUrls {
  natsUrl: string;
  redisUrl: string;
  mongoUrl: string;
  /** Where the URLs came from, printed once at the start of the run. */
  origin: 'environment' | 'services-script' | 'testcontainers';
}

export interface ResolvedServices {
  urls: ServiceUrls;
  stop: () => Promise<void>;
}

export const HOW_TO_START = `Integration tests need real NATS (JetStream), Redis and a MongoDB-wire server. Any one of these gives them:
  - bash scripts/services.sh up            (no Docker: installs and starts them on loopback; npm test runs it by itself when nothing else answers)
  - a running Docker engine                (the tests start containers through testcontainers)
  - NATS_URL, REDIS_URL and MONGO_URL      (servers of your own, e.g. docker compose up -d mongo redis nats)`;

export class ServicesUnavailableError extends Error {
  override readonly name = 'ServicesUnavailableError';
  constructor(detail: string) {
    super(`${detail}\n\n${HOW_TO_START}`);
  }
}

const ROOT = resolve(import.meta.dirname, '../..');

export interface ResolveOptions {
  env?: Record<string, string | undefined>;
  /** The URLs that scripts/services.sh writes (SERVICES_DIR/env, by default .services/env). */
  envFile?: string;
  dockerAnswers?: () => Promise<boolean>;
  /** Starts the local servers; `bash scripts/services.sh up` unless a unit test says otherwise. */
  startLocal?: () => Promise<void>;
  /** Where the one line about starting them goes. */
  say?: (text: string) => void;
}

/**
 * Resolution order: URLs given in the environment (used as they are, never started); else the
 * servers of scripts/services.sh when its env file's URLs answer; else containers when a
 * Docker engine answers; else this run starts the local servers itself with the services
 * script, and fails, saying what it tried, only if that fails too.
 */
export async function resolveServices(options: ResolveOptions = {}): Promise<ResolvedServices> {
  const env = options.env ?? process.env;
  const envFile = options.envFile ?? resolve(env.SERVICES_DIR ?? resolve(ROOT, '.services'), 'env');
  const given = [env.NATS_URL, env.REDIS_URL, env.MONGO_URL];
  if (given.some(Boolean)) {
    if (!given.every(Boolean)) {
      throw new ServicesUnavailableError('Only some of NATS_URL, REDIS_URL and MONGO_URL are set: set all three or none.');
    }
    const urls = { natsUrl: env.NATS_URL!, redisUrl: env.REDIS_URL!, mongoUrl: env.MONGO_URL!, origin: 'environment' as const };
    const down = await unreachable(urls);
    if (down.length > 0) throw new ServicesUnavailableError(`Not reachable (from the environment): ${down.join(', ')}. Servers named in the environment are never started by the tests.`);
    return { urls, stop: async () => {} };
  }
  const fromScript = readEnvFile(envFile);
  const scriptDown = fromScript ? await unreachable(fromScript) : [];
  if (fromScript && scriptDown.length === 0) return { urls: fromScript, stop: async () => {} };
  if (await (options.dockerAnswers ?? dockerAnswers)()) {
    const { startContainers } = await import('./containers.js');
    return startContainers();
  }

  const say = options.say ?? ((text: string) => process.stderr.write(text));
  const tried = `no NATS_URL, REDIS_URL or MONGO_URL; ${fromScript ? `${envFile} names servers that do not answer (${scriptDown.join(', ')})` : `no ${envFile}`}; no Docker engine`;
  const started = Date.now();
  say(`test servers: ${tried}. Starting them with bash scripts/services.sh up (a fresh machine installs and builds them first, about a minute)… `);
  try {
    await (options.startLocal ?? (() => runServicesScript('up')))();
  } catch (err) {
    say('failed.\n');
    throw new ServicesUnavailableError(`Tried: ${tried}; then bash scripts/services.sh up, which failed:\n${(err as Error).message}`);
  }
  const urls = readEnvFile(envFile);
  if (!urls) throw new ServicesUnavailableError(`bash scripts/services.sh up succeeded but wrote no URLs to ${envFile}.`);
  const down = await unreachable(urls);
  if (down.length > 0) throw new ServicesUnavailableError(`bash scripts/services.sh up succeeded, but these do not answer: ${down.join(', ')}.`);
  say(`up in ${Math.round((Date.now() - started) / 1000)} s; they keep running after the tests (stop them: bash scripts/services.sh down).\n`);
  return { urls, stop: async () => {} };
}

function readEnvFile(path: string): ServiceUrls | undefined {
  if (!existsSync(path)) return undefined;
  const vars = Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .map((line) => /^(?:export\s+)?([A-Z_]+)=["']?([^"'\s]*)["']?$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  if (!vars.NATS_URL || !vars.REDIS_URL || !vars.MONGO_URL) return undefined;
  return { natsUrl: vars.NATS_URL, redisUrl: vars.REDIS_URL, mongoUrl: vars.MONGO_URL, origin: 'services-script' };
}

/** "NATS at nats://…" for each server that does not accept a connection (every server of a list or cluster URL). */
export async function unreachable(urls: Pick<ServiceUrls, 'natsUrl' | 'redisUrl' | 'mongoUrl'>): Promise<string[]> {
  const checks = [
    ['NATS', urls.natsUrl],
    ['Redis', urls.redisUrl],
    ['MongoDB', urls.mongoUrl],
  ] as const;
  const answers = await Promise.all(checks.map(async ([, url]) => (await Promise.all(serverAddresses(url).map(({ host, port }) => portAnswers(host, port)))).every(Boolean)));
  return checks.filter((_, i) => !answers[i]).map(([name, url]) => `${name} at ${url}`);
}

export function portAnswers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
