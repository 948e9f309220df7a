import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { loadConfig } from '../config/config.js';

/** The three server URLs of CONTRACT.md's environment. */
export interface ServerUrls {
  NATS_URL: string;
  REDIS_URL: string;
  MONGO_URL: string;
}

export const SERVER_URL_VARIABLES = ['NATS_URL', 'REDIS_URL', 'MONGO_URL'] as const;

/**
 * What `npm start` does about servers.
 * - configured: a server URL is set, so these are someone's servers: start nothing, seed nothing.
 * - local: none is set. The URLs are the services script's (its env file) or the defaults, and
 *   `start` says whether they must be started first because some do not answer.
 */
export type ServerPlan = { mode: 'configured' } | { mode: 'local'; urls: ServerUrls; start: false } | { mode: 'local'; urls: ServerUrls; start: true; down: string[] };

const ROOT = resolve(import.meta.dirname, '../..');
export const SERVICES_SCRIPT = resolve(ROOT, 'scripts/services.sh');

/** Where scripts/services.sh writes the URLs of the servers it started. */
export function servicesEnvFile(env: Record<string, string | undefined>): string {
  return resolve(env.SERVICES_DIR ?? resolve(ROOT, '.services'), 'env');
}

export type PortProbe = (host: string, port: number) => Promise<boolean>;

export async function planServers(env: Record<string, string | undefined>, probe: PortProbe = portAnswers): Promise<ServerPlan> {
  if (SERVER_URL_VARIABLES.some((name) => env[name])) return { mode: 'configured' };
  const urls = readServicesEnv(servicesEnvFile(env)) ?? defaults();
  const answers = await Promise.all(SERVER_URL_VARIABLES.map((name) => urlAnswers(urls[name], probe)));
  const down = SERVER_URL_VARIABLES.filter((_, i) => !answers[i]).map((name) => hostAndPort(urls[name]));
  return down.length === 0 ? { mode: 'local', urls, start: false } : { mode: 'local', urls, start: true, down };
}

/** The defaults of the configuration module (CONTRACT.md): loopback, standard ports. */
export function defaults(): ServerUrls {
  const { NATS_URL, REDIS_URL, MONGO_URL } = loadConfig({});
  return { NATS_URL, REDIS_URL, MONGO_URL };
}

export function readServicesEnv(file: string): ServerUrls | undefined {
  if (!existsSync(file)) return undefined;
  const vars = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => /^(?:export\s+)?([A-Z_]+)=["']?([^"'\s]*)["']?$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  return vars.NATS_URL && vars.REDIS_URL && vars.MONGO_URL ? { NATS_URL: vars.NATS_URL, REDIS_URL: vars.REDIS_URL, MONGO_URL: vars.MONGO_URL } : undefined;
}

/** Failure of the services script: what it said is in the message (what it tried, what to do). */
export class LocalServersError extends Error {
  override readonly name = 'LocalServersError';
}

/** `bash scripts/services.sh up`, its progress lines shown as they come (a first run installs and builds). */
export function startLocalServers(env: Record<string, string | undefined>): Promise<ServerUrls> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [SERVICES_SCRIPT, 'up'], { stdio: ['ignore', 'inherit', 'inherit'], env: env as NodeJS.ProcessEnv });
    child.once('error', (err) => reject(new LocalServersError(`could not run bash ${SERVICES_SCRIPT} up: ${err.message}`)));
    child.once('close', (code) => {
      if (code !== 0) return reject(new LocalServersError(`bash scripts/services.sh up failed (exit ${code}); its last lines above say what it tried and what to do`));
      const urls = readServicesEnv(servicesEnvFile(env));
      if (!urls) return reject(new LocalServersError(`bash scripts/services.sh up wrote no URLs to ${servicesEnvFile(env)}`));
      resolvePromise(urls);
    });
  });
}

function urlAnswers(url: string, probe: PortProbe): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const fallback = url.startsWith('redis') ? 6379 : url.startsWith('mongodb') ? 27017 : 4222;
  return probe(hostname.replace(/^\[|\]$/g, ''), Number(port || fallback));
}

function hostAndPort(url: string): string {
  return new URL(url).host;
}

function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
