import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../src/config/config.js';
import { IMAGES } from './support/containers.js';
import { inPath } from './support/test-tools.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  restart?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
}
const ROOT = resolve(import.meta.dirname, '..');
const FILE = resolve(ROOT, 'docker-compose.yml');
const text = readFileSync(FILE, 'utf8');
const compose = parse(text) as { services: Record<string, ComposeService> };
const services = Object.entries(compose.services);
const worker = compose.services.worker!;
const env = worker.environment ?? {};
// Compose substitutes ${VAR:-} from the shell or .env; for the configuration checks, as if unset.
const resolvedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));

/** `docker-compose` (Debian's, which `bash scripts/services.sh tools` installs), else the `docker compose` plugin. */
function composeCommand(): string[] {
  if (inPath('docker-compose')) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  throw new Error('docker-compose is missing: bash scripts/services.sh tools installs it (npm test runs that by itself before the tests)');
}

/** "45s", "1m30s", "500ms" → milliseconds. */
function durationMs(value: string): number {
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return ms;
}

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config', () => {
    const [command, ...args] = composeCommand();
    const result = spawnSync(command!, [...args, '-f', FILE, 'config', '-q'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OPENSIM_ADMIN_TOKEN: 'compose-config-check-token' } });
    expect(result.stderr).not.toMatch(/error|invalid/i);
    expect(result.status).toBe(0);
  });

  it('runs the same server releases as the test containers (NATS as its alpine variant, for the healthcheck)', () => {
    expect(compose.services.mongo?.image).toBe(IMAGES.mongo);
    expect(compose.services.redis?.image).toBe(IMAGES.redis);
    expect(compose.services.nats?.image).toBe(`${IMAGES.nats}-alpine`);
    expect(compose.services.nats?.command).toContain('-js');
    expect(compose.services.redis?.command?.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('checks NATS health with JetStream enabled, through the monitoring port', () => {
    const test = compose.services.nats?.healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(['CMD', 'wget', '-qO-']);
    expect(test[3]).toBe('http://127.0.0.1:8222/healthz?js-enabled-only=true');
    expect(compose.services.nats?.command?.join(' ')).toContain('-m 8222');
  });

  it('starts a service only once what it depends on is healthy, and every such service has a healthcheck', () => {
    const dependencies = services.flatMap(([, s]) => Object.entries(s.depends_on ?? {}));
    expect(dependencies.map(([name]) => name).sort()).toEqual(['mongo', 'nats', 'redis']);
    for (const [name, dependency] of dependencies) {
      expect(dependency.condition, name).toBe('service_healthy');
      expect(compose.services[name]?.healthcheck?.test, name).toBeDefined();
    }
  });

  it('restarts every service, and gives the worker longer than its shutdown grace to stop', () => {
    for (const [name, service] of services) expect([name, service.restart]).toEqual([name, 'unless-stopped']);
    const grace = loadConfig(resolvedEnv).OPENSIM_SHUTDOWN_GRACE_MS;
    expect(worker.stop_grace_period).toBeDefined();
    expect(durationMs(worker.stop_grace_period!)).toBeGreaterThan(grace + 5000);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = services.flatMap(([, s]) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('runs MongoDB as a single-node replica set that the first healthcheck initiates, as testcontainers does', () => {
    const mongo = compose.services.mongo!;
    expect(mongo.command?.join(' ')).toContain('--replSet rs0');
    expect(mongo.healthcheck?.test?.join(' ')).toMatch(/rs\.initiate\(\{ _id: 'rs0', members: \[\{ _id: 0, host: 'mongo:27017' \}\] \}\)/);
    expect(mongo.healthcheck?.test?.join(' ')).toContain('isWritablePrimary');
    expect(new URL(loadConfig(resolvedEnv).MONGO_URL).searchParams.get('replicaSet')).toBe('rs0');
  });

  it('takes the admin token from .env, which is ignored by git; .env.example documents it, empty', () => {
    expect(env.OPENSIM_ADMIN_TOKEN).toBe('${OPENSIM_ADMIN_TOKEN:-}');
    expect(execFileSync('git', ['check-ignore', '.env'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('.env');
    expect(execFileSync('git', ['ls-files', '.env'], { cwd: ROOT, encoding: 'utf8' })).toBe('');
    const example = readFileSync(resolve(ROOT, '.env.example'), 'utf8');
    expect(example).toMatch(/^OPENSIM_ADMIN_TOKEN=$/m);
    expect(text).toContain('cp .env.example .env');
  });

  it('documents the seed step, with a fixture the image holds', () => {
    const step = 'docker compose run --rm worker seed fixtures/source-document.json';
    expect(text).toContain(step);
    expect(readFileSync(resolve(ROOT, 'README.md'), 'utf8')).toContain(step);
    expect(readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^COPY fixtures \.\/fixtures$/m);
    expect(existsSync(resolve(ROOT, 'fixtures/source-document.json'))).toBe(true);
  });
});

describe('docker-compose.yml matches the configuration module', () => {
  it('gives the worker only variables the configuration knows, and every variable of CONTRACT.md', () => {
    const known = Object.keys(configSchema.shape);
    expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['NATS_URL', 'REDIS_URL', 'MONGO_URL', 'OPENSIM_SUBJECT_PREFIX', 'OPENSIM_HTTP_PORT']));
  });

  it('gives the worker a configuration that validates', () => {
    expect(() => loadConfig(resolvedEnv)).not.toThrow();
  });

  it('points each URL at the compose service and port that serves it', () => {
    const config = loadConfig(resolvedEnv);
    const target = (url: string) => {
      const u = new URL(url);
      return `${u.hostname}:${u.port}`;
    };
    expect(target(config.NATS_URL)).toBe('nats:4222');
    expect(target(config.REDIS_URL)).toBe('redis:6379');
    expect(target(config.MONGO_URL)).toBe('mongo:27017');
    expect(compose.services.nats?.ports).toContain('127.0.0.1:4222:4222');
    expect(compose.services.redis?.ports).toContain('127.0.0.1:6379:6379');
    expect(compose.services.mongo?.ports).toContain('127.0.0.1:27017:27017');
  });

  it('publishes the worker HTTP port of the configuration', () => {
    const { OPENSIM_HTTP_PORT } = loadConfig(resolvedEnv);
    expect(worker.build).toBeDefined();
    expect(worker.ports).toContain(`127.0.0.1:${OPENSIM_HTTP_PORT}:${OPENSIM_HTTP_PORT}`);
  });
});
