import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';

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

export const HOW_TO_START = `Integration tests need real NATS (JetStream), Redis and a MongoDB-wire server. Start them with one of:
  - bash scripts/services.sh up            (no Docker: installs and starts them on loopback; npm test then finds them)
  - a running Docker engine                (the tests start containers through testcontainers)
  - NATS_URL, REDIS_URL and MONGO_URL      (servers of your own, e.g. docker compose up -d mongo redis nats)`;

export class ServicesUnavailableError extends Error {
  override readonly name = 'ServicesUnavailableError';
  constructor(detail: string) {
    super(`${detail}\n\n${HOW_TO_START}`);
  }
}

const ENV_FILE = resolve(import.meta.dirname, '../../.services/env');

/**
 * Resolution order: URLs given in the environment; else the servers of scripts/services.sh
 * (it writes .services/env); else containers when a Docker engine answers; else fail at once.
 */
export async function resolveServices(
  env: Record<string, string | undefined> = process.env,
  envFile: string = ENV_FILE,
): Promise<ResolvedServices> {
  const given = [env.NATS_URL, env.REDIS_URL, env.MONGO_URL];
  if (given.some(Boolean)) {
    if (!given.every(Boolean)) {
      throw new ServicesUnavailableError('Only some of NATS_URL, REDIS_URL and MONGO_URL are set: set all three or none.');
    }
    const urls = { natsUrl: env.NATS_URL!, redisUrl: env.REDIS_URL!, mongoUrl: env.MONGO_URL!, origin: 'environment' as const };
    await assertReachable(urls);
    return { urls, stop: async () => {} };
  }
  const fromScript = readEnvFile(envFile);
  if (fromScript) {
    await assertReachable(fromScript);
    return { urls: fromScript, stop: async () => {} };
  }
  if (await dockerAnswers()) {
    const { startContainers } = await import('./containers.js');
    return startContainers();
  }
  throw new ServicesUnavailableError('No service URLs in the environment, no servers started by scripts/services.sh, and no Docker engine answered.');
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

async function assertReachable(urls: ServiceUrls): Promise<void> {
  const checks = [
    ['NATS', urls.natsUrl, 4222],
    ['Redis', urls.redisUrl, 6379],
    ['MongoDB', urls.mongoUrl, 27017],
  ] as const;
  const answers = await Promise.all(
    checks.map(([, url, defaultPort]) => {
      const { hostname, port } = new URL(url);
      return portAnswers(hostname, Number(port || defaultPort));
    }),
  );
  const down = checks.filter((_, i) => !answers[i]).map(([name, url]) => `${name} at ${url}`);
  if (down.length > 0) {
    throw new ServicesUnavailableError(`Not reachable (from ${urls.origin}): ${down.join(', ')}.`);
  }
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
