import { Queue, Worker } from 'bullmq';
import { MongoClient } from 'mongodb';
import { AckPolicy, connect } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { round } from './stats.js';

/**
 * The ceilings of the parts the pipeline is built on, measured on the same servers with the
 * same shape of work: what the pipeline could reach if it did nothing else.
 */

/** BullMQ with an empty processor: P queues, one worker each, global concurrency 1. */
export async function bullmqCeiling(redisUrl: string, partitions: number, jobs: number): Promise<number> {
  const connection = createRedis(redisUrl, { maxRetriesPerRequest: null });
  const name = `bench-ceiling-${Date.now()}`;
  // A hash tag per queue: on a Redis Cluster each queue's keys share a slot, and the queues spread over the shards.
  const queues = Array.from({ length: partitions }, (_, p) => new Queue(`${name}-{${name}-p${p}}`, { connection }));
  await Promise.all(queues.map((q) => q.setGlobalConcurrency(1)));
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const workers = queues.map(
    (q) =>
      new Worker(q.name, async () => undefined, { connection, concurrency: 1, autorun: false, removeOnComplete: { count: 0 } }).on('completed', () => {
        if (++done === jobs) finish();
      }),
  );
  for (let start = 0; start < jobs; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, jobs - start) }, (_, k) => start + k);
    await Promise.all(queues.map((q, p) => q.addBulk(batch.filter((j) => j % partitions === p).map((j) => ({ name: 'j', data: { j }, opts: { jobId: `j-${j}` } })))));
  }
  const t0 = performance.now();
  for (const w of workers) void w.run();
  await finished;
  const rate = jobs / ((performance.now() - t0) / 1000);
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(queues.map(async (q) => (await q.obliterate({ force: true }), await q.close())));
  await closeRedis(connection);
  return round(rate);
}

/** Version-guarded findOneAndUpdate, `parallel` callers, each on its own documents. */
export async function mongoCeiling(mongoUrl: string, parallel: number, operations: number): Promise<number> {
  const client = await new MongoClient(mongoUrl).connect();
  const coll = client.db().collection<{ _id: string; version: number; n: number }>(`bench_ceiling_${Date.now()}`);
  const docsPerCaller = 100;
  await coll.insertMany(Array.from({ length: parallel * docsPerCaller }, (_, i) => ({ _id: `d${i}`, version: 0, n: 0 })));
  const perCaller = Math.ceil(operations / parallel);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, c) => {
      const versions = new Array<number>(docsPerCaller).fill(0);
      for (let k = 0; k < perCaller; k++) {
        const d = k % docsPerCaller;
        const updated = await coll.findOneAndUpdate({ _id: `d${c * docsPerCaller + d}`, version: versions[d]! }, { $inc: { version: 1, n: 1 } }, { returnDocument: 'after' });
        if (!updated) throw new Error('guard failed in the ceiling benchmark');
        versions[d]!++;
      }
    }),
  );
  const rate = (perCaller * parallel) / ((performance.now() - t0) / 1000);
  await coll.drop();
  await client.close();
  return round(rate);
}

/**
 * Version-guarded updates in bulk, the way group commit writes them (src/store/guarded-bulk.ts:
 * one `bulkWrite` of upserts on `{_id, version}`, each operation's outcome its own): `inFlight`
 * bulks of `batch` at a time, each on documents of its own, checked won one by one.
 */
export async function mongoBulkCeiling(mongoUrl: string, batch: number, inFlight: number, operations: number): Promise<number> {
  const client = await new MongoClient(mongoUrl).connect();
  const coll = client.db().collection<{ _id: string; version: number; n: number }>(`bench_bulk_ceiling_${Date.now()}`);
  await coll.createIndex({ _id: 1, version: 1 }, { unique: true });
  await coll.insertMany(Array.from({ length: inFlight * batch }, (_, i) => ({ _id: `d${i}`, version: 0, n: 0 })));
  const rounds = Math.ceil(operations / (batch * inFlight));
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, c) => {
      for (let r = 0; r < rounds; r++) {
        const ops = Array.from({ length: batch }, (_, k) => ({ updateOne: { filter: { _id: `d${c * batch + k}`, version: r }, update: { $inc: { version: 1, n: 1 } }, upsert: true } }));
        const result = await coll.bulkWrite(ops, { ordered: false });
        if (result.matchedCount !== batch) throw new Error('guard failed in the bulk ceiling benchmark');
      }
    }),
  );
  const rate = (rounds * batch * inFlight) / ((performance.now() - t0) / 1000);
  await coll.drop();
  await client.close();
  return round(rate);
}

/** JetStream publish (acknowledged, windowed) → durable consumer → ack, end to end; `replicas` of the stream (a cluster: 3). */
export async function jetstreamCeiling(natsUrl: string, messages: number, replicas = 1): Promise<number> {
  const nc = await connect({ servers: natsServers(natsUrl) });
  const jsm = await nc.jetstreamManager();
  const stream = `BENCH_CEILING_${Date.now()}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], num_replicas: replicas });
  await jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  const consumer = await js.consumers.get(stream, 'c');
  const body = JSON.stringify({ requestId: 'x'.repeat(24), clientAccountId: 'ACC', serviceRef: 'S', lineId: 'L', targetResourceId: 'R', requestedAt: new Date().toISOString() });
  const t0 = performance.now();
  const consumed = (async () => {
    let n = 0;
    const it = await consumer.consume({ max_messages: 256 });
    for await (const m of it) {
      m.ack();
      if (++n === messages) break;
    }
  })();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < messages; i++) {
    window.push(js.publish(`${stream}.m`, body, { msgID: `m${i}` }));
    if (window.length >= 256) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await consumed;
  const rate = messages / ((performance.now() - t0) / 1000);
  await jsm.streams.delete(stream);
  await nc.drain();
  return round(rate);
}
