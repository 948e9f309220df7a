import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
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
  profiles?: string[];
  volumes?: string[];
  entrypoint?: string[];
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

/** The bind mounts of a service (`./host/path:/container/path[:ro]`), host paths resolved from the repository. */
function bindMounts(service: ComposeService): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? [])
    .filter((volume) => volume.startsWith('./'))
    .map((volume) => {
      const [source, target, mode] = volume.split(':');
      return { source: resolve(ROOT, source!), target: target!, readOnly: mode === 'ro' };
    });
}

describe('docker-compose.yml, profile monitoring: Prometheus and Grafana over deploy/', () => {
  const prometheus = compose.services.prometheus!;
  const grafana = compose.services.grafana!;
  const scrape = parse(readFileSync(resolve(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { authorization: { credentials_file: string }; static_configs: { targets: string[] }[] }[];
  };

  it('is accepted by docker-compose config with the profile', () => {
    const [command, ...args] = composeCommand();
    const result = spawnSync(command!, [...args, '-f', FILE, '--profile', 'monitoring', 'config', '-q'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OPENSIM_ADMIN_TOKEN: 'compose-config-check-token' } });
    expect(result.stderr).not.toMatch(/error|invalid/i);
    expect(result.status).toBe(0);
  });

  it('runs Prometheus and Grafana only with the profile: a plain docker compose up starts the system alone', () => {
    const profiled = services.filter(([, s]) => s.profiles).map(([name, s]) => [name, s.profiles]);
    expect(profiled).toEqual([
      ['prometheus', ['monitoring']],
      ['grafana', ['monitoring']],
    ]);
  });

  it('mounts files that exist in the repository, read-only', () => {
    const mounts = [...bindMounts(prometheus), ...bindMounts(grafana)];
    expect(mounts.length).toBe(4);
    for (const mount of mounts) {
      expect(existsSync(mount.source), mount.source).toBe(true);
      expect(mount.readOnly, mount.target).toBe(true);
    }
  });

  it("mounts the scrape configuration and every rule file it names in /etc/prometheus, and writes the token file it reads from the worker's token", () => {
    const targets = Object.fromEntries(bindMounts(prometheus).map((m) => [m.target, m.source]));
    expect(targets['/etc/prometheus/prometheus.yml']).toBe(resolve(ROOT, 'deploy/prometheus/prometheus.yml'));
    expect(scrape.rule_files.length).toBeGreaterThan(0);
    for (const file of scrape.rule_files) expect(targets[posix.join('/etc/prometheus', file)], file).toBe(resolve(ROOT, 'deploy/prometheus', file));
    const tokenFile = scrape.scrape_configs[0]!.authorization.credentials_file;
    expect(tokenFile).toBe('/etc/prometheus/opensim-admin-token');
    const start = prometheus.entrypoint!.join(' ');
    expect(start).toContain(`printf '%s' "$$OPENSIM_ADMIN_TOKEN" > ${tokenFile}`);
    expect(start).toContain('exec /bin/prometheus --config.file=/etc/prometheus/prometheus.yml');
    expect(prometheus.environment?.OPENSIM_ADMIN_TOKEN).toBe(env.OPENSIM_ADMIN_TOKEN);
  });

  it("scrapes the worker by its compose service name and HTTP port", () => {
    const { OPENSIM_HTTP_PORT } = loadConfig(resolvedEnv);
    expect(scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))).toEqual([`worker:${OPENSIM_HTTP_PORT}`]);
    expect(compose.services.worker).toBeDefined();
  });

  it('provisions Grafana from deploy/grafana: the datasource is the prometheus service, the dashboard provider reads the folder the dashboard is mounted in', () => {
    const targets = Object.fromEntries(bindMounts(grafana).map((m) => [m.target, m.source]));
    expect(targets['/etc/grafana/provisioning']).toBe(resolve(ROOT, 'deploy/grafana/provisioning'));
    expect(statSync(targets['/etc/grafana/provisioning']!).isDirectory()).toBe(true);
    const provisioning = resolve(ROOT, 'deploy/grafana/provisioning');
    const datasources = parse(readFileSync(resolve(provisioning, 'datasources/prometheus.yml'), 'utf8')) as { datasources: { type: string; url: string }[] };
    const url = new URL(datasources.datasources.find((d) => d.type === 'prometheus')!.url);
    expect(`${url.hostname}:${url.port}`).toBe('prometheus:9090');
    expect(prometheus.ports).toContain('127.0.0.1:9090:9090');
    const providers = parse(readFileSync(resolve(provisioning, 'dashboards/opensim.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const dashboard = Object.entries(targets).find(([target]) => target.endsWith('.json'))!;
    expect(dirname(dashboard[0])).toBe(providers.providers[0]!.options.path);
    expect(dashboard[0]).toBe('/var/lib/grafana/dashboards/opensim-dashboard.json');
    expect(JSON.parse(readFileSync(dashboard[1], 'utf8'))).toHaveProperty('panels');
  });
});
