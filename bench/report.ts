import { MongoClient } from 'mongodb';
import { connect } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { commandQueueName } from '../src/queues/command-queues.js';
import type { ServiceUrls } from '../test/support/resolve-services.js';
import type { LatencySummary } from './stats.js';

export async function serverVersions(urls: ServiceUrls) {
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

/** Removes the run's queues (every partition count it used) and streams. */
export async function cleanUp(urls: ServiceUrls, prefix: string, partitions: number): Promise<void> {
  const { Queue } = await import('bullmq');
  const connection = createRedis(urls.redisUrl, { maxRetriesPerRequest: null });
  for (let p = 0; p < partitions; p++) {
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

interface Printed {
  ceilings: Record<string, number>;
  starts: { lines: number; workers: number; partitions: number; readyMs: (number | null)[]; firstOutcomeMs: number | null }[];
  runs: { kind: string; lines: number; workers: number; partitions: number; offeredPerSecond: number | null; throughputPerSecond: number; ratioToGuardedCeiling: unknown; ratioToBulkCeiling: unknown; latencyMs: LatencySummary; peakWorkerRssMb: number; errors: number }[];
  usage: { offeredPerSecond: number | null; records: number; lines: number; fleet: number; absorbedPerSecond: number; publishedPerSecond: number; eventLagMs: LatencySummary; usageUpdatedEvents: number; recordsNotCounted: number; peakWorkerRssMb: number }[];
  usageUpdatedIntervalMs: number;
}

export function printTables(r: Printed): void {
  console.log('\nCeilings (per second):', r.ceilings);
  console.log('\n| lines | workers | partitions | /readyz 200 ms | first request applied ms |');
  console.log('|---|---|---|---|---|');
  for (const s of r.starts) console.log(`| ${s.lines} | ${s.workers} | ${s.partitions} | ${s.readyMs.join(', ')} | ${s.firstOutcomeMs ?? '-'} |`);
  console.log('\n| run | lines | workers | partitions | offered/s | throughput/s | × guarded ceiling | × bulk ceiling | p50 ms | p95 ms | p99 ms | max ms | peak RSS MB | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.runs) {
    const l = x.latencyMs;
    console.log(`| ${x.kind} | ${x.lines} | ${x.workers} | ${x.partitions} | ${x.offeredPerSecond ?? 'max'} | ${x.throughputPerSecond} | ${String(x.ratioToGuardedCeiling)} | ${String(x.ratioToBulkCeiling)} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} | ${x.peakWorkerRssMb} | ${x.errors} |`);
  }
  if (r.usage.length === 0) return;
  console.log(`\nUsage records (usage.updated at most once per line per ${r.usageUpdatedIntervalMs} ms):`);
  console.log('| offered/s | records | lines | fleet | absorbed/s | published/s | lag p50 ms | lag p95 ms | lag p99 ms | lag max ms | usage.updated | not counted | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const u of r.usage) console.log(`| ${u.offeredPerSecond ?? 'max'} | ${u.records} | ${u.lines} | ${u.fleet} | ${u.absorbedPerSecond} | ${u.publishedPerSecond} | ${u.eventLagMs.p50} | ${u.eventLagMs.p95} | ${u.eventLagMs.p99} | ${u.eventLagMs.max} | ${u.usageUpdatedEvents} | ${u.recordsNotCounted} | ${u.peakWorkerRssMb} |`);
}
