import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { clean } from './checker.js';
import { FAULTS, runRow, type Fault, type RowResult } from './row.js';
import { NemesisServers } from './servers.js';
import type { WorkloadShape } from './workload.js';

/**
 * The nemesis suite: two or more `opensim start` processes under plan changes and usage
 * records from a patient upstream, one row per fault (none; SIGSTOP of the intake holder past
 * its lock and lease; kill -9 of nats-server, redis-server, the MongoDB-wire server, each
 * restarted; SIGKILL of a process group; Redis emptied (FLUSHALL) mid-run; Redis rolled back to an
 * earlier snapshot mid-run; all of them in one run), and a checker that classifies
 * every request (ok, lost, duplicated, wrongly decided) and every usage record (counted 0, 1 or
 * more times). Each row also says whether its fault took effect; one whose fault never landed
 * counts as not run. Seeded: `--seed` replays a run.
 */

export interface NemesisOptions {
  seed: number;
  faults: readonly Fault[];
  quick: boolean;
  log?: (line: string) => void;
}

export interface NemesisRun {
  seed: number;
  rows: RowResult[];
  ok: boolean;
  table: string;
}

const ROOT = resolve(import.meta.dirname, '../..');

const SHAPES: Record<'quick' | 'full', { shape: WorkloadShape; publishMs: number; freezeMs: number; downMs: number; settleMs: number }> = {
  // 60-odd plan changes and 80 usage records a row: a few minutes for every row, in `npm test`.
  quick: { shape: { services: 4, linesPerService: 5, changesPerLine: 3, usagePerLine: 4, refusedShare: 0.15 }, publishMs: 12_000, freezeMs: 7_000, downMs: 3_000, settleMs: 90_000 },
  // The measured load: 600 plan changes over 100 lines in 10 services, 800 usage records, over 45 s.
  full: { shape: { services: 10, linesPerService: 10, changesPerLine: 6, usagePerLine: 8, refusedShare: 0.1 }, publishMs: 45_000, freezeMs: 8_000, downMs: 3_000, settleMs: 180_000 },
};

export async function runNemesis(options: NemesisOptions): Promise<NemesisRun> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const mode = SHAPES[options.quick ? 'quick' : 'full'];
  const base = Number(process.env.NEMESIS_PORT_BASE ?? 20000);
  const servers = new NemesisServers(resolve(ROOT, `.services/nemesis-${base}`), { redis: base + 379, nats: base + 422, natsMonitor: base + 822, mongo: base + 717 });
  const artifacts = resolve(ROOT, 'test-artifacts/nemesis', `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${options.seed}`);
  mkdirSync(artifacts, { recursive: true });
  log(`nemesis: seed ${options.seed} (replay with --seed ${options.seed}), ${options.quick ? 'quick' : 'full'} load, rows ${options.faults.join(', ')}; servers on ${JSON.stringify(servers.ports)}; logs in ${artifacts}`);
  const entry = await build(resolve(servers.dir, 'build'));
  await servers.up();
  const rows: RowResult[] = [];
  try {
    for (const fault of options.faults) {
      const row = await runRow(fault, { seed: options.seed, ...mode, servers, artifacts, entry });
      rows.push(row);
      log(`${fault}: ${summary(row)}`);
      for (const problem of row.verdict.problems) log(`  ${problem}`);
    }
  } finally {
    await servers.down().catch(() => {});
  }
  const table = render(rows);
  writeFileSync(resolve(artifacts, 'result.json'), JSON.stringify({ seed: options.seed, quick: options.quick, rows }, null, 2));
  return { seed: options.seed, rows, ok: rows.every((r) => clean(r.verdict) && r.viewMismatches === 0 && r.landed), table };
}

/**
 * The processes run a build of their own, compiled once at the start from the committed sources
 * (HEAD; NEMESIS_SOURCE=worktree for the working tree): a run lasts minutes and the sources may
 * change meanwhile. It is also what production runs (node dist/cli/run.js). The build lives
 * under the repository, so its imports resolve to the repository's node_modules.
 */
async function build(dir: string): Promise<string> {
  const run = promisify(execFile);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let project = resolve(ROOT, 'tsconfig.build.json');
  if (process.env.NEMESIS_SOURCE !== 'worktree') {
    const snapshot = resolve(dir, 'snapshot');
    mkdirSync(snapshot);
    await run('bash', ['-c', `git -C "${ROOT}" archive HEAD src tsconfig.json tsconfig.build.json | tar -x -C "${snapshot}"`]);
    project = resolve(snapshot, 'tsconfig.build.json');
  }
  await run(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--outDir', resolve(dir, 'dist')], { cwd: ROOT });
  return resolve(dir, 'dist/cli/run.js');
}

function summary(r: RowResult): string {
  const v = r.verdict;
  return `${v.requests.ok} ok, ${v.requests.lost} lost, ${v.requests.duplicated} duplicated, ${v.requests.wrong} wrong; usage ${v.usage.counted1}×1 ${v.usage.counted0}×0 ${v.usage.countedMore}×2+; ${r.landed ? 'fault landed' : 'FAULT NOT LANDED'} (${r.seconds} s)`;
}

export function render(rows: RowResult[]): string {
  const head = ['fault', 'ok', 'lost', 'duplicated', 'wrong', 'out of order', 'usage ×0', 'usage ×1', 'usage ×2+', 'view≠event', 'evidence', 'verdict'];
  const body = rows.map((r) => {
    const e = r.evidence;
    const evidence = [
      e.processesFrozen && `frozen ${e.processesFrozen}`,
      e.processesKilled && `killed ${e.processesKilled}`,
      e.takeovers && `takeovers ${e.takeovers}`,
      e.handbacks && `handbacks ${e.handbacks}`,
      e.streamReads && `stream reads ${e.streamReads}`,
      e.stalledJobs && `stalled jobs ${e.stalledJobs}`,
      e.natsReconnects && `nats reconnects ${e.natsReconnects}`,
      e.redisOutages && `redis down ${e.redisOutages}`,
      e.mongoOutages && `mongo down ${e.mongoOutages}`,
      e.redisLosses && `redis lost data ${e.redisLosses}`,
      e.lossesDetected && `losses detected ${e.lossesDetected}`,
      e.commandsRetaken && `taken in again ${e.commandsRetaken}`,
    ].filter(Boolean).join(', ') || '-';
    const v = r.verdict;
    const verdict = !r.landed ? 'NOT RUN' : clean(v) && r.viewMismatches === 0 ? 'ok' : 'FAIL';
    return [r.fault, v.requests.ok, v.requests.lost, v.requests.duplicated, v.requests.wrong, v.linesOutOfOrder, v.usage.counted0, v.usage.counted1, v.usage.countedMore, r.viewMismatches, evidence, verdict].map(String);
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function parseFaults(list: string | undefined): Fault[] {
  if (!list) return [...FAULTS];
  const faults = list.split(',').map((f) => f.trim());
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`unknown fault '${f}' (one of: ${FAULTS.join(', ')})`);
  return faults as Fault[];
}
