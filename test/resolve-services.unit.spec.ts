import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOW_TO_START, resolveServices, ServicesUnavailableError, type ResolveOptions } from './support/resolve-services.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listening(): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function envFileFor(path: string, nats: number, redis: number, mongo: number): void {
  writeFileSync(path, `export NATS_URL=nats://127.0.0.1:${nats}\nexport REDIS_URL=redis://127.0.0.1:${redis}\nexport MONGO_URL=mongodb://127.0.0.1:${mongo}/opensim\n`);
}

/** No Docker, a record of what was said and whether the services script ran. */
function harness(envFile: string, start: () => Promise<void> = async () => {}) {
  const said: string[] = [];
  let started = 0;
  const options: ResolveOptions = {
    env: {},
    envFile,
    dockerAnswers: async () => false,
    say: (text) => said.push(text),
    startLocal: async () => {
      started += 1;
      await start();
    },
  };
  return { options, said, started: () => started };
}

describe('resolveServices', () => {
  it('given URLs of servers that do not answer, fails with how to start them and starts nothing', async () => {
    const port = await closedPort();
    const { options, started } = harness('/nonexistent');
    options.env = { NATS_URL: `nats://127.0.0.1:${port}`, REDIS_URL: `redis://127.0.0.1:${port}`, MONGO_URL: `mongodb://127.0.0.1:${port}/x` };
    await expect(resolveServices(options)).rejects.toThrow(ServicesUnavailableError);
    await expect(resolveServices(options)).rejects.toThrow(HOW_TO_START);
    expect(started()).toBe(0);
  });

  it('given only some URLs, fails and says to set all three', async () => {
    const { options } = harness('/nonexistent');
    options.env = { NATS_URL: 'nats://127.0.0.1:1' };
    await expect(resolveServices(options)).rejects.toThrow(/set all three/);
  });

  it('uses the services script servers when they answer, starting nothing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'svc-')), 'env');
    envFileFor(file, await listening(), await listening(), await listening());
    const { options, said, started } = harness(file);
    const resolved = await resolveServices(options);
    expect(resolved.urls.origin).toBe('services-script');
    expect(started()).toBe(0);
    expect(said).toEqual([]);
  });

  it('with nothing answering and no Docker, starts the servers with the services script, saying so in one line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'svc-')), 'env');
    const ports = [await listening(), await listening(), await listening()] as const;
    const { options, said, started } = harness(file, async () => envFileFor(file, ...ports));
    const resolved = await resolveServices(options);
    expect(started()).toBe(1);
    expect(resolved.urls).toMatchObject({ natsUrl: `nats://127.0.0.1:${ports[0]}`, origin: 'services-script' });
    const line = said.join('');
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).toMatch(/no NATS_URL.*no Docker engine\. Starting them with bash scripts\/services\.sh up.*up in \d+ s/);
  });

  it('restarts them too when the services script env file names servers that are down', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'svc-')), 'env');
    const port = await closedPort();
    envFileFor(file, port, port, port);
    const ports = [await listening(), await listening(), await listening()] as const;
    const { options, said, started } = harness(file, async () => envFileFor(file, ...ports));
    await resolveServices(options);
    expect(started()).toBe(1);
    expect(said.join('')).toMatch(/names servers that do not answer \(NATS at .*Redis at .*MongoDB at/);
  });

  it('when the services script fails, says everything it tried and passes on what the script said to do', async () => {
    const { options } = harness('/nonexistent/env', async () => {
      throw new Error('services: error: nats-server v2.10.29 is built from source and needs Go >= 1.23');
    });
    const failure = resolveServices(options);
    await expect(failure).rejects.toThrow(ServicesUnavailableError);
    await expect(resolveServices(options)).rejects.toThrow(/Tried: no NATS_URL, REDIS_URL or MONGO_URL; no \/nonexistent\/env; no Docker engine; then bash scripts\/services\.sh up, which failed:\n.*needs Go >= 1\.23/);
  });
});
