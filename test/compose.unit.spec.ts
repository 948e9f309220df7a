import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../src/config/config.js';
import { IMAGES } from './support/containers.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const worker = compose.services.worker!;
const env = worker.environment ?? {};

describe('docker-compose.yml matches the configuration module', () => {
  it('runs the same server images as the test containers', () => {
    expect(compose.services.mongo?.image).toBe(IMAGES.mongo);
    expect(compose.services.redis?.image).toBe(IMAGES.redis);
    expect(compose.services.nats?.image).toBe(IMAGES.nats);
    expect(compose.services.nats?.command).toContain('-js');
    expect(compose.services.redis?.command?.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('gives the worker only variables the configuration knows, and every variable of CONTRACT.md', () => {
    const known = Object.keys(configSchema.shape);
    expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['NATS_URL', 'REDIS_URL', 'MONGO_URL', 'OPENSIM_SUBJECT_PREFIX', 'OPENSIM_HTTP_PORT']));
  });

  it('gives the worker a configuration that validates', () => {
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('points each URL at the compose service and port that serves it', () => {
    const config = loadConfig(env);
    const target = (url: string) => {
      const u = new URL(url);
      return `${u.hostname}:${u.port}`;
    };
    expect(target(config.NATS_URL)).toBe('nats:4222');
    expect(target(config.REDIS_URL)).toBe('redis:6379');
    expect(target(config.MONGO_URL)).toBe('mongo:27017');
    expect(compose.services.nats?.ports).toContain('4222:4222');
    expect(compose.services.redis?.ports).toContain('6379:6379');
    expect(compose.services.mongo?.ports).toContain('27017:27017');
  });

  it('publishes the worker HTTP port of the configuration', () => {
    const { OPENSIM_HTTP_PORT } = loadConfig(env);
    expect(worker.build).toBeDefined();
    expect(worker.ports).toContain(`${OPENSIM_HTTP_PORT}:${OPENSIM_HTTP_PORT}`);
  });
});
