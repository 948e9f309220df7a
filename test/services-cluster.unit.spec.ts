import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPTS = resolve(import.meta.dirname, '../scripts');
const root = mkdtempSync(join(tmpdir(), 'svc-cluster-'));
mkdirSync(join(root, 'scripts'));
for (const file of ['services.sh', 'services-cluster.sh']) copyFileSync(join(SCRIPTS, file), join(root, 'scripts', file));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cluster(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync('/bin/bash', [join(root, 'scripts/services.sh'), 'cluster', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' } });
  return { status: result.status, stderr: result.stderr };
}

/** The cluster verbs of scripts/services.sh, where they refuse before starting anything (test:cluster starts them for real). */
describe('scripts/services.sh cluster', () => {
  it('without a verb: the usage, with the URL forms it writes, exit 2', () => {
    const { status, stderr } = cluster();
    expect(status).toBe(2);
    expect(stderr).toContain('Usage: scripts/services.sh cluster up | down | status | env | clean | start <node> | stop <node> | kill <node>');
    expect(stderr).toContain('REDIS_URL=redis+cluster://127.0.0.1:7301,127.0.0.1:7302,127.0.0.1:7303');
  });

  it('env: the cluster URLs, ports moved by their variables', () => {
    const result = spawnSync('/bin/bash', [join(root, 'scripts/services.sh'), 'cluster', 'env'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', CLUSTER_NATS_PORT: '5301', CLUSTER_REDIS_PORT: '9301' } });
    expect(result.stdout.split('\n').slice(0, 2)).toEqual([
      'export NATS_URL=nats://127.0.0.1:5301,nats://127.0.0.1:5302,nats://127.0.0.1:5303',
      'export REDIS_URL=redis+cluster://127.0.0.1:9301,127.0.0.1:9302,127.0.0.1:9303',
    ]);
  });

  it('a node that does not exist: named, with the nodes there are', () => {
    const { status, stderr } = cluster('start', 'nats-4');
    expect(status).toBe(1);
    expect(stderr).toContain("unknown cluster node 'nats-4' (expected: nats-1 nats-2 nats-3 redis-1 redis-2 redis-3)");
  });

  it('kill of a node that is not running: says so', () => {
    const { status, stderr } = cluster('kill', 'redis-2');
    expect(status).toBe(1);
    expect(stderr).toContain('redis-2 is not running');
  });
});
