import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineClient } from '../support/pipeline.js';
import { mongoUrlWithDatabase, services, uniqueName } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('npm start with NATS_URL, REDIS_URL and MONGO_URL set: starts nothing, seeds nothing', () => {
  let npm: ChildProcess;
  let stderr = '';
  let stdout = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let env: Record<string, string>;
  let port: number;
  let shims: string;

  beforeAll(async () => {
    // detached: a process group of its own, as a terminal gives a command, so that Ctrl-C can be sent to all of it.
    // Every `bash` run by npm start, its children included, is recorded: the services script runs as `bash scripts/services.sh`.
    shims = mkdtempSync(join(tmpdir(), 'npm-start-'));
    writeFileSync(join(shims, 'bash'), `#!/bin/sh\necho "$*" >> "${join(shims, 'bash.log')}"\nexec /bin/bash "$@"\n`);
    chmodSync(join(shims, 'bash'), 0o755);
    writeFileSync(join(shims, 'bash.log'), '');
    port = await freePort();
    env = {
      NATS_URL: services().natsUrl,
      REDIS_URL: services().redisUrl,
      MONGO_URL: mongoUrlWithDatabase(uniqueName('npmstart')),
      OPENSIM_SUBJECT_PREFIX: uniqueName('npms'),
      OPENSIM_HTTP_PORT: String(port),
      OPENSIM_EVENTS_MAX_MIB: '64',
      OPENSIM_SHUTDOWN_GRACE_MS: '3000',
      LOG_LEVEL: 'warn',
    };
    npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env, PATH: `${shims}${delimiter}${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    exited = new Promise((r) => npm.once('exit', (code, signal) => r({ code, signal })));
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('opensim is ready')) {
      if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not become ready:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    if (npm?.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, 'SIGKILL');
    const client = await PipelineClient.open(env);
    await client.cleanup();
    rmSync(shims, { recursive: true, force: true });
  });

  it('reaches /readyz 200 and prints where to look, saying it used the servers as configured', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(stderr).toContain('using the servers as configured; nothing is started or seeded');
    expect(stderr).toContain(`readiness  http://127.0.0.1:${port}/readyz`);
    expect(stderr).toMatch(/try +npx opensim request plan-change/);
    expect(stderr).not.toContain('services.sh up');
  });

  it('leaves the empty database empty: no product, service, resource or line, nothing in any collection', async () => {
    const client = await new MongoClient(env.MONGO_URL!).connect();
    try {
      const db = client.db();
      const names = (await db.listCollections().toArray()).map((c) => c.name);
      const counts = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await db.collection(name).countDocuments()] as const)));
      expect(Object.values(counts).every((n) => n === 0), JSON.stringify(counts)).toBe(true);
      expect(await db.collection('lines').countDocuments()).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('runs no services script', () => {
    expect(readFileSync(join(shims, 'bash.log'), 'utf8')).not.toContain('services.sh');
  });

  it('Ctrl-C (SIGINT to its process group, as a terminal sends it) stops it cleanly', async () => {
    process.kill(-npm.pid!, 'SIGINT');
    // npm itself ends by the signal it forwarded (a shell shows 130); what matters is that opensim
    // stopped its roles in order, not at once as on a second signal.
    expect(await exited).toMatchObject({ signal: 'SIGINT' });
    expect(stderr).toContain('npm start: stopped');
    expect(stdout).not.toContain('second signal');
  }, 30_000);
});
