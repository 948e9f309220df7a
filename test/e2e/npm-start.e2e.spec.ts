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

/** `npm start` with the three URLs set to the test's servers, an empty database of its own, and every `bash` it runs recorded. */
interface NpmStart {
  npm: ChildProcess;
  env: Record<string, string>;
  port: number;
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  bashLog(): string;
  cleanup(): Promise<void>;
}

async function npmStart(): Promise<NpmStart> {
  // The services script runs as `bash scripts/services.sh`: a `bash` first in PATH records every run.
  const shims = mkdtempSync(join(tmpdir(), 'npm-start-'));
  writeFileSync(join(shims, 'bash'), `#!/bin/sh\necho "$*" >> "${join(shims, 'bash.log')}"\nexec /bin/bash "$@"\n`);
  chmodSync(join(shims, 'bash'), 0o755);
  writeFileSync(join(shims, 'bash.log'), '');
  const port = await freePort();
  const env = {
    NATS_URL: services().natsUrl,
    REDIS_URL: services().redisUrl,
    MONGO_URL: mongoUrlWithDatabase(uniqueName('npmstart')),
    OPENSIM_SUBJECT_PREFIX: uniqueName('npms'),
    OPENSIM_HTTP_PORT: String(port),
    OPENSIM_EVENTS_MAX_MIB: '64',
    OPENSIM_SHUTDOWN_GRACE_MS: '3000',
    LOG_LEVEL: 'warn',
  };
  // detached: a process group of its own, as a terminal gives a command, so that Ctrl-C can be sent to all of it.
  const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env, PATH: `${shims}${delimiter}${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = { stdout: '', stderr: '' };
  npm.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  npm.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => npm.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 60_000;
  while (!output.stderr.includes('opensim is ready')) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not become ready:\n${output.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    npm,
    env,
    port,
    output,
    exited,
    bashLog: () => readFileSync(join(shims, 'bash.log'), 'utf8'),
    async cleanup() {
      if (npm.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, 'SIGKILL');
      const client = await PipelineClient.open(env);
      await client.cleanup();
      rmSync(shims, { recursive: true, force: true });
    },
  };
}

const answers = (port: number) => fetch(`http://127.0.0.1:${port}/healthz`).then(
  () => true,
  () => false,
);

describe('npm start with NATS_URL, REDIS_URL and MONGO_URL set: starts nothing, seeds nothing', () => {
  let run: NpmStart;

  beforeAll(async () => {
    run = await npmStart();
  }, 90_000);
  afterAll(async () => {
    await run?.cleanup();
  });

  it('reaches /readyz 200 and prints where to look, saying it used the servers as configured', async () => {
    expect((await fetch(`http://127.0.0.1:${run.port}/readyz`)).status).toBe(200);
    expect(run.output.stderr).toContain('using the servers as configured; nothing is started or seeded');
    expect(run.output.stderr).toContain(`readiness  http://127.0.0.1:${run.port}/readyz`);
    expect(run.output.stderr).toMatch(/try +npx opensim request plan-change/);
    expect(run.output.stderr).not.toContain('services.sh up');
  });

  it('leaves the empty database empty: no product, service, resource or line, nothing in any collection', async () => {
    const client = await new MongoClient(run.env.MONGO_URL!).connect();
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
    expect(run.bashLog()).not.toContain('services.sh');
  });

  it('Ctrl-C (SIGINT to its process group, as a terminal sends it) stops it cleanly', async () => {
    process.kill(-run.npm.pid!, 'SIGINT');
    // opensim gets the signal twice (from the terminal's group, and forwarded by npm): one Ctrl-C,
    // not a second signal, so the roles stop in order and it exits 0, and npm with it.
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output.stderr).toContain('npm start: stopped');
    expect(run.output.stdout).not.toContain('second signal');
    expect(await answers(run.port)).toBe(false);
  }, 30_000);
});

describe('npm start stopped by a supervisor that signals npm alone', () => {
  let run: NpmStart;

  beforeAll(async () => {
    run = await npmStart();
  }, 90_000);
  afterAll(async () => {
    await run?.cleanup();
  });

  it('SIGTERM to npm reaches opensim (the script execs node): it stops cleanly, nothing left running', async () => {
    run.npm.kill('SIGTERM');
    await run.exited;
    const deadline = Date.now() + 15_000;
    while (!run.output.stderr.includes('npm start: stopped') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(run.output.stderr).toContain('npm start: stopped');
    expect(await answers(run.port)).toBe(false);
  }, 30_000);
});
