import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** What the workers run: the compiled build of a commit (or of the working tree), as the container image does. */
export interface Build {
  entry: string;
  source: string;
}

/**
 * Builds the committed sources (`git archive HEAD`, or BENCH_REF: an earlier commit, for a before
 * and after on the same servers) unless BENCH_SOURCE=worktree: others may be changing the working
 * tree while a run lasts, and a run's numbers should belong to a commit. The build lives under
 * the repository, so its imports resolve to the repository's node_modules.
 */
export function build(log: (...parts: unknown[]) => void): Build {
  const dir = resolve(ROOT, '.services/bench-build');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let project = resolve(ROOT, 'tsconfig.build.json');
  let source = 'working tree';
  if (process.env.BENCH_SOURCE !== 'worktree') {
    const snapshot = resolve(dir, 'snapshot');
    mkdirSync(snapshot);
    const ref = process.env.BENCH_REF ?? 'HEAD';
    source = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
    execFileSync('bash', ['-c', `git -C "${ROOT}" archive ${source} src tsconfig.json tsconfig.build.json | tar -x -C "${snapshot}"`]);
    project = resolve(snapshot, 'tsconfig.build.json');
  }
  log(`building ${source}…`);
  execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--outDir', resolve(dir, 'dist')], { cwd: ROOT, stdio: 'inherit' });
  return { entry: resolve(dir, 'dist/cli/run.js'), source };
}

export interface Started {
  procs: ChildProcess[];
  /** Per process: spawn → /readyz 200, ms (null: not ready within the wait). */
  readyMs: (number | null)[];
}

/** Starts `count` `opensim start` processes and waits for each /readyz (up to 300 s: never an error, a slow start is a number). */
export async function startWorkers(buildOut: Build, count: number, env: Record<string, string>, profile: boolean): Promise<Started> {
  const t0 = performance.now();
  const procs = Array.from({ length: count }, (_, k) =>
    spawn(process.execPath, [...(profile ? ['--cpu-prof', '--cpu-prof-dir', 'bench/profiles'] : []), buildOut.entry, 'start'], {
      cwd: ROOT,
      env: { ...process.env, ...env, OPENSIM_HTTP_PORT: String(18080 + k) },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const readyMs = await Promise.all(
    procs.map(async (_, k) => {
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        if (await fetch(`http://127.0.0.1:${18080 + k}/readyz`).then((r) => r.ok, () => false)) return Math.round(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    }),
  );
  return { procs, readyMs };
}

export async function stopWorkers(procs: readonly ChildProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once('exit', () => r()), p.kill('SIGTERM'))))));
}
