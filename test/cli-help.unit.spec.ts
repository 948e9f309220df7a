import { spawn } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { commands } from '../src/cli/commands.js';
import { main } from '../src/cli/main.js';

const ROOT = resolve(import.meta.dirname, '..');

/** A listening socket standing in for a server: it counts who connects, and answers nothing. */
interface Trap {
  url: string;
  connections: number;
  server: Server;
}

async function trap(scheme: string, path = ''): Promise<Trap> {
  const t: Trap = { url: '', connections: 0, server: createServer((socket) => {
    t.connections += 1;
    socket.destroy();
  }) };
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.url = `${scheme}://127.0.0.1:${(t.server.address() as { port: number }).port}${path}`;
  return t;
}

let traps: Trap[];
let env: Record<string, string>;

beforeAll(async () => {
  traps = [await trap('nats'), await trap('redis'), await trap('mongodb', '/opensim'), await trap('http')];
  const [nats, redis, mongo, http] = traps as [Trap, Trap, Trap, Trap];
  env = { NATS_URL: nats.url, REDIS_URL: redis.url, MONGO_URL: mongo.url, OPENSIM_HTTP_PORT: new URL(http.url).port };
});
afterAll(async () => {
  await Promise.all(traps.map((t) => new Promise((r) => t.server.close(r))));
});
afterEach(() => {
  // Nothing may have been connected to, whatever the case did.
  expect(traps.map((t) => t.connections)).toEqual([0, 0, 0, 0]);
});

/** `opensim …` in this process, its output captured, with the traps as servers. */
async function opensim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
  try {
    return { code: await main(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  }
}

describe('the traps', () => {
  it('count a connection (so a zero means none was opened)', async () => {
    await Promise.all(traps.map((t) => new Promise<void>((r) => connect(Number(new URL(t.url).port), '127.0.0.1').once('close', () => r()).once('error', () => r()))));
    expect(traps.map((t) => t.connections)).toEqual([1, 1, 1, 1]);
    for (const t of traps) t.connections = 0;
  });
});

const verbs = Object.keys(commands);
const withSubcommands = Object.entries(commands).flatMap(([verb, c]) => (c.subcommands ?? []).map((sub) => [verb, sub] as const));

describe('opensim <verb> --help: exit 0, usage on stdout, no connection opened', () => {
  it('covers every verb and sub-verb of the command table', () => {
    expect(verbs).toEqual(expect.arrayContaining(['start', 'seed', 'request', 'alerts', 'envelope', 'dlq', 'audit', 'queues']));
    expect(withSubcommands).toEqual(expect.arrayContaining([['request', 'plan-change'], ['request', 'resource-order'], ['dlq', 'retry']]));
  });

  it.each(verbs)('opensim %s --help', async (verb) => {
    const { code, stdout, stderr } = await opensim(verb, '--help');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('usage:');
  });

  it.each(withSubcommands)('opensim %s %s --help', async (verb, sub) => {
    const { code, stdout, stderr } = await opensim(verb, sub, '--help');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('usage:');
  });

  it('opensim --help, help and --version', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) expect(await opensim(...args)).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('commands:') });
    expect(await opensim('--version')).toEqual({ code: 0, stdout: expect.stringMatching(/^opensim \d+\.\d+\.\d+\n$/), stderr: '' });
  });
});

describe('a bad command line: exit 2, the reason and the usage on stderr, nothing on stdout, no connection', () => {
  const refused = async (...args: string[]) => {
    const { code, stdout, stderr } = await opensim(...args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    // The usage itself, or where to find it (envelope: "opensim envelope --help shows the usage").
    expect(stderr).toMatch(/usage/);
    return stderr;
  };

  it.each(verbs)('opensim %s --no-such-flag', async (verb) => {
    await refused(verb, '--no-such-flag');
  });

  it.each(withSubcommands)('opensim %s %s --no-such-flag', async (verb, sub) => {
    await refused(verb, sub, '--no-such-flag');
  });

  it.each([
    ['start', 'stray'],
    ['alerts', 'stray'],
    ['audit', 'stray'],
    ['queues', 'stray'],
    ['envelope', 'stray'],
    ['seed', 'a.json', 'b.json'],
    ['dlq', 'list', 'stray'],
    ['request', 'plan-change', 'stray'],
  ])('opensim %s … with a stray argument', async (...args) => {
    await refused(...args);
  });

  it('an unknown verb or option, a missing one, a bad --roles list', async () => {
    expect(await refused('frobnicate')).toContain("unknown command 'frobnicate'");
    expect(await refused('--frobnicate')).toContain("unknown option '--frobnicate'");
    await refused();
    await refused('dlq');
    await refused('request');
    expect(await refused('request', 'plan-change', '--account', 'CA-1')).toContain('--service is required');
    expect(await refused('request', 'plan-change', '--account', 'CA 1', '--service', 'S', '--line', 'L', '--target', 'R')).toContain('--account: must match');
    expect(await refused('request', 'resource-order', '--account', 'A', '--service', 'S', '--resource', 'R', '--product', 'P', '--ordered-at', 'yesterday')).toContain('--ordered-at: must be an RFC 3339 timestamp');
    expect(await refused('request', 'plan-change', '--timeout', 'soon')).toContain("--timeout 'soon'");
    expect(await refused('start', '--roles', 'workers,everything')).toContain('unknown role everything');
  });
});

/** The real entry points, as a user runs them. */
function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve(ROOT, file), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the entry points', () => {
  it('bin/opensim.mjs start --help and --version, npm start -- --help: exit 0 at once, no connection', async () => {
    const [start, version, npmStart] = await Promise.all([run('bin/opensim.mjs', ['start', '--help']), run('bin/opensim.mjs', ['--version']), run('bin/npm-start.mjs', ['--help'])]);
    expect(start).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('usage: opensim start [--roles') });
    expect(version).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^opensim \d/) });
    expect(npmStart).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('usage: npm start') });
  }, 30_000);
});
