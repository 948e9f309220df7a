/**
 * `npm run bench`: throughput, latency and memory of the plan-change pipeline against the
 * ceilings of the parts it is built on. Prints a table and writes bench/results/<stamp>.json.
 * A benchmark reports numbers; it never fails on a slow machine (see BENCHMARKS.md).
 *
 *   npm run bench -- [--lines 10000] [--scales 10000,100000,1000000] [--workers 1,2,4]
 *                    [--requests 5000] [--rates 100,500] [--rate-seconds 10] [--soak-seconds 0]
 *                    [--usage-records 50000] [--usage-lines 1000]
 *                    [--profile]   (workers write V8 CPU profiles to bench/profiles; summarize with bench/profile-summary.ts)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { connect } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { commandQueueName } from '../src/queues/command-queues.js';
import { resolveServices } from '../test/support/resolve-services.js';
import { bullmqCeiling, jetstreamCeiling, mongoCeiling } from './ceilings.js';
import { seedLines } from './fleet.js';
import { PlanChangeLoad, type LoadResult } from './pipeline-load.js';
import { UsageLoad, type UsageResult } from './usage-load.js';
import { round, RssSampler } from './stats.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '10000' },
    scales: { type: 'string' },
    workers: { type: 'string', default: '1' },
    requests: { type: 'string', default: '5000' },
    rates: { type: 'string', default: '100,500' },
    'rate-seconds': { type: 'string', default: '10' },
    'soak-seconds': { type: 'string', default: '0' },
    partitions: { type: 'string', default: '8' },
    label: { type: 'string', default: 'run' },
    profile: { type: 'boolean', default: false },
    'usage-records': { type: 'string', default: '50000' },
    'usage-lines': { type: 'string', default: '1000' },
  },
});
const list = (s: string) => s.split(',').filter(Boolean).map(Number);
const scales = list(values.scales ?? values.lines!).sort((a, b) => a - b);
const workerCounts = list(values.workers!);
const requests = Number(values.requests);
const rates = list(values.rates!);
const rateSeconds = Number(values['rate-seconds']);
const soakSeconds = Number(values['soak-seconds']);
const partitions = values.partitions!;
const usageRecords = Number(values['usage-records']);
const usageLines = Number(values['usage-lines']);
/** Coalescing of `usage.updated` in the bench (the default is 5 s): the event lag measured includes up to this. */
const USAGE_UPDATED_INTERVAL_MS = '1000';

const log = (...parts: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

const { urls, stop: stopServices } = await resolveServices();
const prefix = `bench${randomBytes(3).toString('hex')}`;
const mongoUrl = new URL(urls.mongoUrl);
mongoUrl.pathname = `/${prefix}`;
const env = { NATS_URL: urls.natsUrl, REDIS_URL: urls.redisUrl, MONGO_URL: mongoUrl.toString(), OPENSIM_SUBJECT_PREFIX: prefix, OPENSIM_PARTITIONS: partitions, OPENSIM_USAGE_UPDATED_INTERVAL_MS: USAGE_UPDATED_INTERVAL_MS, LOG_LEVEL: 'info' };

build();
const versions = await serverVersions();
log('servers', versions, 'cores', cpus().length);

log('ceilings…');
const ceilings = {
  bullmqEmptyJobsPerSecond: await bullmqCeiling(urls.redisUrl, Number(partitions), 5000),
  mongoGuardedUpdatesPerSecond: await mongoCeiling(urls.mongoUrl, Number(partitions), 5000),
  jetstreamPublishConsumePerSecond: await jetstreamCeiling(urls.natsUrl, 20_000),
};
const lowestCeiling = Math.min(...Object.values(ceilings));
log('ceilings', ceilings);

const mongo = await new MongoClient(env.MONGO_URL).connect();
const load = await PlanChangeLoad.open(urls.natsUrl, prefix, scales.at(-1)!);
const runs: Record<string, unknown>[] = [];
const usageRuns: (UsageResult & { lines: number; fleet: number; workers: number; peakWorkerRssMb: number })[] = [];
const usage = await UsageLoad.open(urls.natsUrl, prefix);
const sweepScans: { lines: number; ms: number }[] = [];
const startedAt = new Date().toISOString();
const resultsFile = new URL(`./results/${startedAt.replace(/[:.]/g, '-')}-${values.label}.json`, import.meta.url);

/** Written after every measurement, so a run cut short keeps what it measured. */
function saveResults() {
  const out = { label: values.label, at: startedAt, machine: { cores: cpus().length, memoryGb: round(totalmem() / 2 ** 30), node: process.version }, servers: versions, partitions: Number(partitions), usageUpdatedIntervalMs: Number(USAGE_UPDATED_INTERVAL_MS), sweepFullMs: Number(process.env.OPENSIM_SWEEP_FULL_MS ?? 30_000), sweepScans, ceilings, lowestCeiling, runs, usage: usageRuns };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(out, null, 2));
  return out;
}
let seeded = 0;
let runNo = 0;

try {
  for (const scale of scales) {
    log(`seeding lines ${seeded}…${scale}`);
    const t0 = performance.now();
    await seedLines(mongo.db(), seeded, scale);
    log(`seeded ${scale - seeded} lines in ${round((performance.now() - t0) / 1000)} s`);
    seeded = scale;
    const scanMs = await sweepScanMs();
    sweepScans.push({ lines: scale, ms: scanMs });
    log(`a sweep's query over ${scale} lines (no index on the test server) took ${scanMs} ms`);
    for (const workers of workerCounts) {
      const procs = await startWorkers(workers);
      const rss = new RssSampler(() => procs.map((p) => p.pid!));
      const record = async (kind: string, result: LoadResult) => {
        const phasePeak = rss.phase();
        runs.push({ kind, lines: scale, workers, ...result, ratioToLowestCeiling: round(result.throughputPerSecond / lowestCeiling, 2), peakWorkerRssMb: phasePeak });
        saveResults();
        log(kind, `lines=${scale} workers=${workers}`, `${result.throughputPerSecond}/s`, result.latencyMs, result.outcomes, `rss ${phasePeak} MB`);
      };
      await load.run({ lines: scale, requests: Math.min(500, requests), rate: null, runId: `warm${runNo++}` });
      rss.phase(); // the warm-up's peak belongs to no measurement
      await record('full-speed', await load.run({ lines: scale, requests, rate: null, runId: `r${runNo++}` }));
      if (scale === scales[0] && workers === workerCounts[0]) {
        for (const rate of rates) await record(`rate-${rate}`, await load.run({ lines: scale, requests: rate * rateSeconds, rate, runId: `r${runNo++}` }));
        if (usageRecords > 0) {
          // Each run on lines no earlier run counted usage for: full speed, then 1,000 records/s for 10 s.
          const lines = Math.min(usageLines, Math.floor(scale / 2));
          for (const [k, rate] of [null, 1000].entries()) {
            const result = await usage.run({ firstLine: k * lines, lines, records: rate === null ? usageRecords : rate * 10, rate, runId: `u${runNo++}` });
            usageRuns.push({ ...result, fleet: scale, workers, peakWorkerRssMb: rss.phase() });
            saveResults();
            log('usage', `offered=${rate ?? 'max'} lines=${result.lines} of ${scale}`, `${result.absorbedPerSecond} records/s`, 'lag', result.eventLagMs, `not counted ${result.recordsNotCounted}`);
          }
        }
        if (soakSeconds > 0) {
          const before = rss.series.length;
          // Memory over the offered period; what is still queued when it ends counts as errors (the backlog).
          await record('soak-500', await load.run({ lines: scale, requests: 500 * soakSeconds, rate: 500, runId: `r${runNo++}`, timeoutMs: 30_000 }));
          const soak = rss.series.slice(before);
          const minuteMean = (part: typeof soak) => round(part.reduce((sum, x) => sum + x.rssMb, 0) / Math.max(1, part.length));
          Object.assign(runs.at(-1)!, {
            rssSeriesMb: soak.filter((_, k) => k % 20 === 0),
            rssFirstMinuteMeanMb: minuteMean(soak.slice(0, 120)),
            rssLastMinuteMeanMb: minuteMean(soak.slice(-120)),
          });
        }
      }
      rss.stop();
      await stopWorkers(procs);
    }
  }
} finally {
  await load.close();
  await usage.close();
  await mongo.db().dropDatabase();
  await mongo.close();
  await cleanupQueuesAndStreams();
  await stopServices();
}

const result = saveResults();
printTable(result.ceilings, runs);
printUsage(usageRuns);
log('results written to', resultsFile.pathname);
process.exit(0);

/** Workers run the compiled build, as the container image does (no TypeScript loader in memory). */
function build(): void {
  log('building (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}

async function startWorkers(count: number): Promise<ChildProcess[]> {
  const procs = Array.from({ length: count }, (_, k) =>
    spawn(process.execPath, [...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', 'bench/profiles'] : []), 'dist/cli/run.js', 'start'], { env: { ...process.env, ...env, OPENSIM_HTTP_PORT: String(18080 + k) }, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  for (let k = 0; k < count; k++) {
    // Long: on the test server each process's first sweeps scan every line (16 s per scan at 1,000,000 lines).
    const deadline = Date.now() + 300_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${18080 + k}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error('worker not ready within 300 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return procs;
}

async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGTERM')))));
}

async function serverVersions() {
  const nc = await connect({ servers: natsServers(urls.natsUrl) });
  const nats = nc.info?.version;
  await nc.close();
  const redis = createRedis(urls.redisUrl);
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  await closeRedis(redis);
  const client = await new MongoClient(urls.mongoUrl).connect();
  const mongoVersion = (await client.db('admin').command({ buildInfo: 1 })).version as string;
  await client.close();
  return { nats, redis: redisVersion, mongo: `${mongoVersion} (${urls.origin === 'testcontainers' ? 'MongoDB' : 'MongoDB-wire server of scripts/services.sh'})` };
}

async function cleanupQueuesAndStreams() {
  const { Queue } = await import('bullmq');
  const connection = createRedis(urls.redisUrl, { maxRetriesPerRequest: null });
  for (let p = 0; p < Number(partitions); p++) {
    const q = new Queue(commandQueueName(prefix, p), { connection });
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
  }
  await closeRedis(connection);
  const nc = await connect({ servers: natsServers(urls.natsUrl) });
  const jsm = await nc.jetstreamManager();
  for (const s of ['COMMANDS', 'USAGE', 'EVENTS']) await jsm.streams.delete(`${prefix.toUpperCase()}_${s}`).catch(() => {});
  await nc.drain();
}

function printTable(ceilingsOut: Record<string, number>, rows: Record<string, unknown>[]) {
  console.log('\nCeilings (per second):', ceilingsOut);
  console.log('\n| run | lines | workers | offered/s | throughput/s | ×lowest ceiling | p50 ms | p95 ms | p99 ms | max ms | peak RSS MB | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const l = r.latencyMs as { p50: number; p95: number; p99: number; max: number };
    console.log(`| ${String(r.kind)} | ${String(r.lines)} | ${String(r.workers)} | ${String(r.offeredPerSecond ?? 'max')} | ${String(r.throughputPerSecond)} | ${String(r.ratioToLowestCeiling)} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} | ${String(r.peakWorkerRssMb)} | ${String(r.errors)} |`);
  }
}

function printUsage(rows: typeof usageRuns) {
  if (rows.length === 0) return;
  console.log(`\nUsage records (usage.updated at most once per line per ${USAGE_UPDATED_INTERVAL_MS} ms):`);
  console.log('| offered/s | records | lines | fleet | absorbed/s | published/s | lag p50 ms | lag p95 ms | lag p99 ms | lag max ms | usage.updated | not counted | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.offeredPerSecond ?? 'max'} | ${r.records} | ${r.lines} | ${r.fleet} | ${r.absorbedPerSecond} | ${r.publishedPerSecond} | ${r.eventLagMs.p50} | ${r.eventLagMs.p95} | ${r.eventLagMs.p99} | ${r.eventLagMs.max} | ${r.usageUpdatedEvents} | ${r.recordsNotCounted} | ${r.peakWorkerRssMb} |`);
}

/** One query of the outbox sweep (events older than now) over the lines: a scan where no index is built. */
async function sweepScanMs(): Promise<number> {
  const t0 = performance.now();
  await mongo.db().collection('lines').find({ 'outbox.event.time': { $lt: new Date().toISOString() } }, { projection: { _id: 1 } }).limit(100).toArray();
  return round(performance.now() - t0);
}
