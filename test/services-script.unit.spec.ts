import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '../scripts/services.sh');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the script in an empty checkout (no built nats-server), so nothing it finds is cached. */
function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'svc-script-'));
  dirs.push(root);
  mkdirSync(join(root, 'scripts'));
  copyFileSync(SCRIPT, join(root, 'scripts/services.sh'));
  return root;
}

/** A PATH holding every program of this machine's PATH but `hidden`, plus the given shims. */
function pathWithout(hidden: string[], shims: Record<string, string> = {}): string {
  const bin = mkdtempSync(join(tmpdir(), 'svc-path-'));
  dirs.push(bin);
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (hidden.includes(name) || name in shims) continue;
      try {
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // the same name earlier in PATH wins, as it would
      }
    }
  }
  for (const [name, body] of Object.entries(shims)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** `bash services.sh start <svc>` on ports nobody uses; every case fails before installing or starting anything. */
function start(svc: string, path: string): { status: number | null; stderr: string } {
  const root = checkout();
  const result = spawnSync('/bin/bash', [join(root, 'scripts/services.sh'), 'start', svc], {
    encoding: 'utf8',
    env: { PATH: path, HOME: process.env.HOME ?? '/root', REDIS_PORT: '1', NATS_PORT: '2', NATS_MONITOR_PORT: '3', MONGO_PORT: '4' },
  });
  return { status: result.status, stderr: result.stderr };
}

describe('scripts/services.sh: where it cannot install, it says what it tried and what to do', () => {
  it('a Go too old for nats-server 2.10.29: says Go >= 1.23 is needed and that Debian 1.19 cannot build it', () => {
    const { status, stderr } = start('nats', pathWithout(['go'], { go: 'echo "go version go1.19.8 linux/amd64"' }));
    expect(status).toBe(1);
    expect(stderr).toContain("needs Go >= 1.23 (Debian's golang-go is 1.19 and cannot build it); found Go 1.19.8");
    expect(stderr).toContain('Install Go >= 1.23 from https://go.dev/dl/');
    expect(stderr).toContain('or run servers of your own and set NATS_URL, REDIS_URL and MONGO_URL');
  });

  it('no apt-get to install a missing server: says so, and what to do', () => {
    const { status, stderr } = start('redis', pathWithout(['apt-get', 'redis-server']));
    expect(status).toBe(1);
    expect(stderr).toContain("missing: redis-server; this script installs with apt-get (Debian), which is not here. Install them with this system's package manager");
  });

  it('not root: says to install it once with sudo', () => {
    const { status, stderr } = start('redis', pathWithout(['redis-server'], { id: 'echo 1000', 'apt-get': 'echo "apt-get must not run" >&2; exit 99' }));
    expect(status).toBe(1);
    expect(stderr).toContain("missing: redis-server; installing them needs root: run 'sudo apt-get install -y redis-server' once");
    expect(stderr).not.toContain('apt-get must not run');
  });

  it('apt-get failing (offline, no mirror): says what it tried, where the log is, and what to do', () => {
    const { status, stderr } = start('redis', pathWithout(['redis-server'], { id: 'echo 0', 'apt-get': 'echo "Temporary failure resolving deb.debian.org" >&2; exit 100' }));
    expect(status).toBe(1);
    expect(stderr).toContain('Temporary failure resolving deb.debian.org');
    expect(stderr).toMatch(/could not install redis-server \(tried: apt-get update, then apt-get install -y --no-install-recommends redis-server; log .*apt\.log\)\. Offline, or no Debian mirror\?/);
  });
});
