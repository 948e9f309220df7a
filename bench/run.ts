/**
 * `npm run bench`: throughput, latency, memory and start-up of the pipeline against the ceilings
 * of the parts it is built on. Prints tables; after every measurement writes
 * bench/results/<stamp>-<label>.json and its figures, <stamp>-<label>.svg, next to it. A
 * benchmark reports numbers; it never fails on a slow machine (see BENCHMARKS.md).
 *
 *   npm run bench -- [--quick] [--lines 10000] [--scales 10000,100000,1000000] [--workers 1,2,4]
 *                    [--partitions 64] [--partition-sweep 8,16,32,64,128] [--lines-per-account 100]
 *                    [--requests 5000] [--rates 100,500] [--rate-seconds 10] [--soak-seconds 0]
 *                    [--usage-records 50000] [--usage-lines 1000] [--label run]
 *                    [--profile]   (workers write V8 CPU profiles to bench/profiles; summarize with bench/profile-summary.ts)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { configSchema } from '../src/config/config.js';
import { resolveServices } from '../test/support/resolve-services.js';
import { bullmqCeiling, jetstreamCeiling, mongoBulkCeiling, mongoCeiling } from './ceilings.js';
import { figuresSvg, type RunRecord, type StartRecord } from './figures.js';
import { linesPerAccount, seedLines, setLinesPerAccount } from './fleet.js';
import { PlanChangeLoad, type LoadResult } from './pipeline-load.js';
import { cleanUp, printTables, serverVersions } from './report.js';
import { round, RssSampler } from './stats.js';
import { UsageLoad, type UsageResult } from './usage-load.js';
import { build, startWorkers, stopWorkers } from './workers.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    lines: { type: 'string' },
    scales: { type: 'string' },
    workers: { type: 'string', default: '1' },
    requests: { type: 'string' },
    rates: { type: 'string', default: '100,500' },
    'rate-seconds': { type: 'string' },
    'soak-seconds': { type: 'string', default: '0' },
    partitions: { type: 'string', default: String(configSchema.parse({}).OPENSIM_PARTITIONS) },
    'partition-sweep': { type: 'string', default: '' },
    'lines-per-account': { type: 'string', default: '100' },
    label: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'usage-records': { type: 'string' },
    'usage-lines': { type: 'string', default: '1000' },
  },
});
const quick = values.quick!;
const list = (s: string) => s.split(',').filter(Boolean).map(Number);
const scales = list(values.scales ?? values.lines ?? (quick ? '5000' : '10000')).sort((a, b) => a - b);
const workerCounts = list(values.workers!);
const requests = Number(values.requests ?? (quick ? 1500 : 5000));
const rates = list(values.rates!);
const rateSeconds = Number(values['rate-seconds'] ?? (quick ? 4 : 10));
const soakSeconds = Number(values['soak-seconds']);
const partitions = Number(values.partitions);
const sweep = list(values['partition-sweep']!).filter((p) => p !== partitions);
const usageRecords = Number(values['usage-records'] ?? (quick ? 10_000 : 50_000));
const usageLines = Number(values['usage-lines']);
const label = values.label ?? (quick ? 'quick' : 'run');
setLinesPerAccount(Number(values['lines-per-account']));
/** Coalescing of `usage.updated` in the bench (the default is 5 s): the event lag measured includes up to this. */
const USAGE_UPDATED_INTERVAL_MS = 1000;

const log = (...parts: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

const { urls, stop: stopServices } = await resolveServices();
const prefix = `bench${randomBytes(3).toString('hex')}`;
const mongoUrl = new URL(urls.mongoUrl);
mongoUrl.pathname = `/${prefix}`;
const env = (p: number) => ({ NATS_URL: urls.natsUrl, REDIS_URL: urls.redisUrl, MONGO_URL: mongoUrl.toString(), OPENSIM_SUBJECT_PREFIX: prefix, OPENSIM_PARTITIONS: String(p), OPENSIM_USAGE_UPDATED_INTERVAL_MS: String(USAGE_UPDATED_INTERVAL_MS), LOG_LEVEL: 'warn' });

const built = build(log);
const versions = await serverVersions(urls);
log('servers', versions, 'cores', cpus().length);

// A warm-up pass first: a cold JVM measured 774/s where a warm one did 1,310/s (issue 13).
log('ceilings: warm-up…');
const ops = quick ? 2000 : 5000;
await mongoCeiling(urls.mongoUrl, 8, ops);
await mongoBulkCeiling(urls.mongoUrl, 50, 2, ops);
log('ceilings…');
const ceilings = {
  bullmqEmptyJobsPerSecond: await bullmqCeiling(urls.redisUrl, 8, ops),
  mongoGuardedUpdatesPerSecond: await mongoCeiling(urls.mongoUrl, 8, ops),
  mongoBulkGuardedUpdatesPerSecond: await mongoBulkCeiling(urls.mongoUrl, 50, 2, ops * 4),
  jetstreamPublishConsumePerSecond: await jetstreamCeiling(urls.natsUrl, quick ? 10_000 : 20_000),
};
log('ceilings', ceilings);

const mongo = await new MongoClient(mongoUrl.toString()).connect();
const load = await PlanChangeLoad.open(urls.natsUrl, prefix, scales.at(-1)!);
const usage = await UsageLoad.open(urls.natsUrl, prefix);
const runs: (RunRecord & LoadResult & { ratioToGuardedCeiling: number; ratioToBulkCeiling: number })[] = [];
const usageRuns: (UsageResult & { fleet: number; workers: number; partitions: number; peakWorkerRssMb: number })[] = [];
const starts: StartRecord[] = [];
const seeding: { lines: number; seconds: number }[] = [];
const startedAt = new Date().toISOString();
const stem = `${startedAt.replace(/[:.]/g, '-')}-${label}`;
const resultsFile = new URL(`./results/${stem}.json`, import.meta.url);
const figuresFile = new URL(`./results/${stem}.svg`, import.meta.url);

/** Written after every measurement, so a run cut short keeps what it measured. */
function save() {
  const out = {
    label, at: startedAt, source: built.source, quick,
    machine: { cores: cpus().length, memoryGb: round(totalmem() / 2 ** 30), node: process.version },
    servers: versions, partitions, partitionSweep: sweep, linesPerAccount: linesPerAccount(), usageUpdatedIntervalMs: USAGE_UPDATED_INTERVAL_MS,
    ceilings, seeding, starts, runs, usage: usageRuns,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(out, null, 2));
  writeFileSync(figuresFile, figuresSvg(out));
  return out;
}

let seeded = 0;
let runNo = 0;

/** One set of worker processes: started (time to ready), measured with `measure`, stopped. */
async function withWorkers(lines: number, workers: number, p: number, measure: (record: (kind: string, result: LoadResult) => void, rss: RssSampler) => Promise<void>) {
  const started = await startWorkers(built, workers, env(p), values.profile!);
  log(`started ${workers} worker(s), ${p} partitions, at ${lines} lines: ready in ${started.readyMs.join(', ')} ms`);
  const rss = new RssSampler(() => started.procs.map((proc) => proc.pid!));
  try {
    if (started.readyMs.some((ms) => ms === null)) throw new Error('a worker was not ready within 300 s');
    // The first request after ready: what a process at this scale needs before it does work.
    const first = await load.run({ lines, requests: 1, rate: null, runId: `first${runNo++}` });
    starts.push({ lines, workers, partitions: p, readyMs: started.readyMs, firstOutcomeMs: first.errors === 0 ? Math.round(Math.max(...started.readyMs.map(Number)) + first.latencyMs.max) : null });
    await load.run({ lines, requests: Math.min(500, requests), rate: null, runId: `warm${runNo++}` });
    rss.phase(); // the warm-up's peak belongs to no measurement
    await measure((kind, result) => {
      const peak = rss.phase();
      runs.push({ ...result, kind, lines, workers, partitions: p, ratioToGuardedCeiling: round(result.throughputPerSecond / ceilings.mongoGuardedUpdatesPerSecond, 2), ratioToBulkCeiling: round(result.throughputPerSecond / ceilings.mongoBulkGuardedUpdatesPerSecond, 2), peakWorkerRssMb: peak });
      save();
      log(kind, `lines=${lines} workers=${workers} partitions=${p}`, `${result.throughputPerSecond}/s`, result.latencyMs, result.outcomes, `rss ${peak} MB`);
    }, rss);
  } catch (err) {
    // Never a failure of the bench: what was measured stays, the rest is said.
    log(`measurement at ${lines} lines, ${workers} worker(s), ${p} partitions cut short:`, (err as Error).message);
  } finally {
    rss.stop();
    await stopWorkers(started.procs);
  }
}

try {
  for (const scale of scales) {
    log(`seeding lines ${seeded}…${scale}`);
    const t0 = performance.now();
    await seedLines(mongo.db(), seeded, scale);
    seeding.push({ lines: scale, seconds: round((performance.now() - t0) / 1000) });
    log(`seeded ${scale - seeded} lines in ${seeding.at(-1)!.seconds} s`);
    seeded = scale;
    for (const workers of workerCounts) {
      const firstSet = scale === scales[0] && workers === workerCounts[0];
      await withWorkers(scale, workers, partitions, async (record, rss) => {
        record('full-speed', await load.run({ lines: scale, requests, rate: null, runId: `r${runNo++}` }));
        if (!firstSet) return;
        for (const rate of rates) record(`rate-${rate}`, await load.run({ lines: scale, requests: rate * rateSeconds, rate, runId: `r${runNo++}` }));
        if (usageRecords > 0) await measureUsage(scale, workers, rss);
        if (soakSeconds > 0) await soak(scale, record, rss);
      });
    }
    if (scale === scales[0]) {
      for (const p of sweep) await withWorkers(scale, workerCounts[0]!, p, async (record) => record('partition-sweep', await load.run({ lines: scale, requests, rate: null, runId: `r${runNo++}` })));
      // The main count's full-speed run is the sweep's point for it.
      const main = runs.find((r) => r.kind === 'full-speed' && r.lines === scale && r.workers === workerCounts[0]);
      if (sweep.length > 0 && main) runs.push({ ...main, kind: 'partition-sweep' });
    }
  }
} finally {
  await load.close();
  await usage.close();
  await mongo.db().dropDatabase();
  await mongo.close();
  await cleanUp(urls, prefix, Math.max(partitions, ...sweep));
  await stopServices();
}

const result = save();
printTables(result);
log('results written to', resultsFile.pathname, 'and', figuresFile.pathname);
process.exit(0);

/** Usage records: 50,000 over 1,000 lines at full speed, then 1,000/s for 10 s on other lines (each run on lines no earlier run counted usage for). */
async function measureUsage(scale: number, workers: number, rss: RssSampler): Promise<void> {
  const lines = Math.min(usageLines, Math.floor(scale / 2));
  for (const [k, rate] of [null, 1000].entries()) {
    const result = await usage.run({ firstLine: k * lines, lines, records: rate === null ? usageRecords : rate * (quick ? 5 : 10), rate, runId: `u${runNo++}` });
    usageRuns.push({ ...result, fleet: scale, workers, partitions, peakWorkerRssMb: rss.phase() });
    save();
    log('usage', `offered=${rate ?? 'max'} lines=${result.lines} of ${scale}`, `${result.absorbedPerSecond} records/s`, 'lag', result.eventLagMs, `not counted ${result.recordsNotCounted}`, `rss ${usageRuns.at(-1)!.peakWorkerRssMb} MB`);
  }
}

/** Memory over a long offered period; what is still queued when it ends counts as errors (the backlog). */
async function soak(scale: number, record: (kind: string, result: LoadResult) => void, rss: RssSampler): Promise<void> {
  const before = rss.series.length;
  record('soak-500', await load.run({ lines: scale, requests: 500 * soakSeconds, rate: 500, runId: `r${runNo++}`, timeoutMs: 30_000 }));
  const samples = rss.series.slice(before);
  const minuteMean = (part: typeof samples) => round(part.reduce((sum, x) => sum + x.rssMb, 0) / Math.max(1, part.length));
  Object.assign(runs.at(-1)!, { rssSeriesMb: samples.filter((_, k) => k % 20 === 0), rssFirstMinuteMeanMb: minuteMean(samples.slice(0, 120)), rssLastMinuteMeanMb: minuteMean(samples.slice(-120)) });
  save();
}
