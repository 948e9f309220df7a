import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOW_TO_START, resolveServices, ServicesUnavailableError } from './support/resolve-services.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('resolveServices', () => {
  it('given URLs of servers that do not answer, fails with how to start them', async () => {
    const port = await closedPort();
    const env = { NATS_URL: `nats://127.0.0.1:${port}`, REDIS_URL: `redis://127.0.0.1:${port}`, MONGO_URL: `mongodb://127.0.0.1:${port}/x` };
    const attempt = resolveServices(env, '/nonexistent');
    await expect(attempt).rejects.toThrow(ServicesUnavailableError);
    await expect(resolveServices(env, '/nonexistent')).rejects.toThrow(HOW_TO_START);
  });

  it('given only some URLs, fails and says to set all three', async () => {
    await expect(resolveServices({ NATS_URL: 'nats://127.0.0.1:1' }, '/nonexistent')).rejects.toThrow(/set all three/);
  });

  it('given the services script env file with servers down, fails naming each one', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'svc-'));
    const file = join(dir, 'env');
    writeFileSync(file, `export NATS_URL=nats://127.0.0.1:${port}\nexport REDIS_URL=redis://127.0.0.1:${port}\nexport MONGO_URL=mongodb://127.0.0.1:${port}/opensim\n`);
    await expect(resolveServices({}, file)).rejects.toThrow(/NATS at .*Redis at .*MongoDB at/s);
  });
});
