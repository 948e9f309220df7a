/**
 * The floor the required parts set: a pipeline of the plan-change pipeline's shape (JetStream
 * intake → P BullMQ partition queues → a worker per queue doing read, guarded update, request
 * insert, outcome publish, outbox pull, all through group commit) with no domain logic and tiny
 * documents, compared with the guarded-update ceiling of bench/ceilings.ts measured in the same
 * run. If even this stays below a ratio, the real pipeline cannot reach it on these servers.
 * Variants: A the floor pipeline; B the same without BullMQ (the intake calls the processor, one
 * request at a time per partition); C A with line documents padded to 6 KB (a line with a long
 * decision list); D A with the documents a correct plan change touches, still deciding nothing:
 * it also reads the target resource, the line holding it (unique `holds` index) and any earlier
 * decision, and writes the two resource documents and an outbox marker (written before, removed
 * after), as src/workers/plan-change.ts does.
 * Each reports CPU per request of the servers and of this process, from /proc and cpuUsage().
 *   npm run bench:floor -- [--requests 5000] [--lines 5000] [--partitions 32]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { MongoClient, type Document } from 'mongodb';
import { AckPolicy, connect, type JsMsg } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { commandQueueName, partitionOf } from '../src/queues/command-queues.js';
import { Batcher, type BatchOptions, type Settled } from '../src/store/batcher.js';
import { guardedBulk } from '../src/store/guarded-bulk.js';
import { mongoCeiling } from './ceilings.js';
import { round } from './stats.js';
import { resolveServices } from '../test/support/resolve-services.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '5000' }, lines: { type: 'string', default: '5000' }, partitions: { type: 'string', default: '32' } } });
const N = Number(values.requests);
const L = Number(values.lines);
const P = Number(values.partitions);
// The servers of the environment, else those of scripts/services.sh (started if down), as `npm run bench` finds them.
const { urls, stop: stopServices } = await resolveServices();
const [NATS_URL, REDIS_URL, MONGO_URL] = [urls.natsUrl, urls.redisUrl, urls.mongoUrl];
// The batch limits of the real group commit (src/store/group-commit.ts), so batching is as good as there.
const READS: BatchOptions = { maxBatch: 1000, maxInFlight: 2 };
const WRITES: BatchOptions = { maxBatch: 500, maxInFlight: 2 };
const PUBLISH_WINDOW = 512;
const RUN_ID = `floor${randomBytes(4).toString('hex')}`;

interface Req {
  requestId: string;
  lineId: string;
}
type Variant = 'A' | 'B' | 'C' | 'D';
type Cpu = Record<'mongo' | 'redis' | 'nats' | 'node', number>;

// Matched at the start of the command line, so a shell or editor naming a server is not counted.
const SERVERS = { mongo: '^java .*mongo-wire', redis: '^redis-server', nats: '^\\S*nats-server' } as const;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const pids = Object.fromEntries(
  Object.entries(SERVERS).map(([k, pattern]) => [k, execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number)]),
) as Record<keyof typeof SERVERS, number[]>;

/** CPU ms so far of every server process (user + system of all threads, /proc/<pid>/stat) and of this process. */
function cpuNow(): Cpu {
  const ms = (list: number[]) =>
    list.reduce((sum, pid) => {
      // utime and stime: the 12th and 13th fields after the command name.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    }, 0);
  const own = process.cpuUsage();
  return { mongo: ms(pids.mongo), redis: ms(pids.redis), nats: ms(pids.nats), node: (own.user + own.system) / 1000 };
}
const perRequest = (a: Cpu, b: Cpu, n: number): Cpu => ({ mongo: round((b.mongo - a.mongo) / n, 2), redis: round((b.redis - a.redis) / n, 2), nats: round((b.nats - a.nats) / n, 2), node: round((b.node - a.node) / n, 2) });

const mongo = await new MongoClient(MONGO_URL).connect();
const nc = await connect({ servers: natsServers(NATS_URL) });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();
const redis = createRedis(REDIS_URL, { maxRetriesPerRequest: null });

async function run(variant: Variant, ceiling: number) {
  const tag = `${RUN_ID}${variant.toLowerCase()}`;
  const lines = mongo.db().collection<Document>(`${tag}_lines`);
  // The same collection typed for the outbox pull, which the driver's untyped Document refuses.
  const outboxes = mongo.db().collection<{ _id: string; outbox: { id: string; type: string }[] }>(`${tag}_lines`);
  const requests = mongo.db().collection<Document>(`${tag}_requests`);
  const resources = mongo.db().collection<Document>(`${tag}_resources`);
  const markers = mongo.db().collection<Document>(`${tag}_markers`);
  const [reqStream, outStream] = [`${tag}_REQ`, `${tag}_OUT`];
  let queues: Queue[] = [];
  let workers: Worker[] = [];
  try {
    // Without the guard index the test server scans the collection on every guarded write (documents.ts).
    await lines.createIndex({ _id: 1, version: 1 }, { unique: true });
    const padding = variant === 'C' ? { pad: 'x'.repeat(6144), decisions: Array.from({ length: 50 }, (_, k) => ({ at: k, kind: 'applied', by: `r${k}` })) } : {};
    const holds = (i: number) => (variant === 'D' ? { holds: [`R${i}`] } : {});
    for (let i = 0; i < L; i += 1000) await lines.insertMany(Array.from({ length: Math.min(1000, L - i) }, (_, k) => ({ _id: `L${i + k}`, version: 0, outbox: [], ...holds(i + k), ...padding }) as Document));
    if (variant === 'D') {
      await lines.createIndex({ holds: 1 }, { unique: true, sparse: true });
      await resources.createIndex({ _id: 1, version: 1 }, { unique: true });
      for (let i = 0; i < L; i += 1000) await resources.insertMany(Array.from({ length: Math.min(1000, L - i) }, (_, k) => [`R${i + k}`, `T${i + k}`]).flat().map((id) => ({ _id: id, version: 0, state: 'available' }) as Document));
    }
    await jsm.streams.add({ name: reqStream, subjects: [`${tag}.req.>`] });
    await jsm.streams.add({ name: outStream, subjects: [`${tag}.out.>`] });
    // Enough unacknowledged messages that B (acked once processed) keeps every partition busy.
    await jsm.consumers.add(reqStream, { durable_name: 'intake', ack_policy: AckPolicy.Explicit, max_ack_pending: 4096 });

    const reads = new Batcher<string, Document | null>(async (ids) => {
      const found = new Map((await lines.find({ _id: { $in: [...new Set(ids)] } } as Document).toArray()).map((d) => [String(d._id), d]));
      return ids.map((id) => ({ ok: true, value: found.get(id) ?? null }));
    }, READS);
    const writes = new Batcher((ops: { filter: { _id: string; version: number }; update: Document }[]) => guardedBulk(lines, ops), WRITES);
    const inserts = new Batcher<Document, void>(async (docs) => {
      await requests.insertMany(docs, { ordered: false });
      return docs.map((): Settled<void> => ({ ok: true, value: undefined }));
    }, WRITES);
    const pulls = new Batcher<Req, void>(async (refs) => {
      await outboxes.bulkWrite(refs.map((r) => ({ updateOne: { filter: { _id: r.lineId }, update: { $pull: { outbox: { id: r.requestId } } } } })), { ordered: false });
      return refs.map((): Settled<void> => ({ ok: true, value: undefined }));
    }, WRITES);

    // D's other documents, each through its own batcher as in src/store/group-commit.ts.
    const byIdIn = (collection: typeof lines, field = '_id') =>
      new Batcher<string, Document | null>(async (ids) => {
        const found = new Map((await collection.find({ [field]: { $in: [...new Set(ids)] } }).toArray()).map((d) => [String(field === '_id' ? d._id : (d[field] as string[])[0]), d]));
        return ids.map((id) => ({ ok: true, value: found.get(id) ?? null }));
      }, READS);
    const resourceReads = byIdIn(resources);
    const holders = byIdIn(lines, 'holds');
    const decisions = byIdIn(requests);
    const resourceWrites = new Batcher((ops: { filter: { _id: string; version: number }; update: Document }[]) => guardedBulk(resources, ops), WRITES);
    const marks = new Batcher<Document, void>(async (docs) => (await markers.insertMany(docs, { ordered: false }), docs.map((): Settled<void> => ({ ok: true, value: undefined }))), WRITES);
    const unmarks = new Batcher<string, void>(async (ids) => (await markers.deleteMany({ _id: { $in: ids } } as Document), ids.map((): Settled<void> => ({ ok: true, value: undefined }))), WRITES);

    let retries = 0;
    const processRequest = async (r: Req): Promise<void> => {
      const n = r.lineId.slice(1);
      const marker = `${r.lineId}|${r.requestId}`;
      // A lost guard (the line written meanwhile) is read again and retried, as the real worker does.
      for (;;) {
        const [line] = await Promise.all([reads.submit(r.lineId), ...(variant === 'D' ? [resourceReads.submit(`T${n}`), holders.submit(`T${n}`), decisions.submit(r.requestId)] : [])]);
        if (!line) throw new Error(`line ${r.lineId} missing`);
        if (variant === 'D') await marks.submit({ _id: marker, docId: r.lineId, at: new Date().toISOString() });
        const outcome = await writes.submit({ filter: { _id: r.lineId, version: line.version as number }, update: { $inc: { version: 1 }, $push: { outbox: { id: r.requestId, type: 'plan-changed' } } } });
        if (outcome.status === 'won') break;
        retries++;
      }
      await Promise.all([
        inserts.submit({ _id: r.requestId, lineId: r.lineId, outcome: 'applied' }),
        // Both resources' states, guarded by their own versions (read again: the bench changes each line's resources once per round of requests).
        ...(variant === 'D'
          ? [`R${n}`, `T${n}`].map(async (id) => {
              const doc = await resourceReads.submit(id);
              await resourceWrites.submit({ filter: { _id: id, version: doc!.version as number }, update: { $inc: { version: 1 }, $set: { state: id.startsWith('T') ? 'active' : 'available' } } });
            })
          : []),
        js.publish(`${tag}.out.${r.lineId}`, JSON.stringify({ requestId: r.requestId, lineId: r.lineId, outcome: 'applied' }), { msgID: r.requestId }),
      ]);
      await pulls.submit(r);
      if (variant === 'D') await unmarks.submit(marker);
    };

    let fail!: (err: unknown) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => {});

    // The load generator's view: outcomes on the outcome subject, counted once per request.
    const seen = new Set<string>();
    const sub = nc.subscribe(`${tag}.out.>`);
    const lastOutcome = (async () => {
      for await (const m of sub) {
        seen.add(m.json<{ requestId: string }>().requestId);
        if (seen.size === N) return performance.now();
      }
      throw new Error('outcome subscription closed early');
    })();

    const consumer = await js.consumers.get(reqStream, 'intake');
    const messages = await consumer.consume({ max_messages: 1024 });
    let onMessage: (m: JsMsg) => void;
    if (variant === 'B') {
      // One request at a time per partition, so at most P in flight, like the queues' global concurrency 1.
      const chains = Array.from({ length: P }, () => Promise.resolve());
      onMessage = (m) => {
        const r = m.json<Req>();
        const p = partitionOf(r.lineId, P);
        chains[p] = chains[p]!.then(() => processRequest(r)).then(() => m.ack(), fail);
      };
    } else {
      queues = Array.from({ length: P }, (_, p) => new Queue(commandQueueName(tag, p), { connection: redis }));
      await Promise.all(queues.map((q) => q.setGlobalConcurrency(1)));
      workers = queues.map((q) => new Worker<Req>(q.name, (job) => processRequest(job.data), { connection: redis, concurrency: 1, removeOnComplete: { count: 0 } }).on('failed', (_job, err) => fail(err)));
      // What arrives while an addBulk round is out goes together in the next one (one addBulk per queue per round).
      let pending: JsMsg[] = [];
      let flushing = false;
      const flush = async () => {
        while (pending.length > 0) {
          const batch = pending;
          pending = [];
          const byQueue = new Map<number, { m: JsMsg; r: Req }[]>();
          for (const m of batch) {
            const r = m.json<Req>();
            const p = partitionOf(r.lineId, P);
            byQueue.set(p, [...(byQueue.get(p) ?? []), { m, r }]);
          }
          await Promise.all([...byQueue].map(([p, items]) => queues[p]!.addBulk(items.map(({ r }) => ({ name: 'plan-change', data: r, opts: { jobId: r.requestId } })))));
          for (const m of batch) m.ack();
        }
        flushing = false;
      };
      onMessage = (m) => {
        pending.push(m);
        if (!flushing) {
          flushing = true;
          setImmediate(() => flush().catch(fail));
        }
      };
    }
    const intake = (async () => {
      for await (const m of messages) onMessage(m);
    })().catch(fail);

    const before = cpuNow();
    const t0 = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < N; i++) {
      const r: Req = { requestId: `${tag}-r${i}`, lineId: `L${i % L}` };
      const p: Promise<unknown> = js.publish(`${tag}.req.${r.lineId}`, JSON.stringify(r), { msgID: r.requestId }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= PUBLISH_WINDOW) await Promise.race([...inFlight, failed]);
    }
    await Promise.race([Promise.all(inFlight), failed]);
    const t1 = await Promise.race([lastOutcome, failed]);
    const cpu = perRequest(before, cpuNow(), N);
    const perSecond = round(N / ((t1 - t0) / 1000));

    await messages.close();
    await intake;
    sub.unsubscribe();
    // Items per round trip: how well group commit batched under this load.
    const avgBatch = (b: { stats: { items: number; batches: number } }) => round(b.stats.items / Math.max(1, b.stats.batches));
    const batches = { reads: avgBatch(reads), writes: avgBatch(writes), inserts: avgBatch(inserts), pulls: avgBatch(pulls) };
    const row = { variant, perSecond, ratio: round(perSecond / ceiling, 3), cpuMsPerRequest: cpu, retries, avgBatch: batches };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(queues.map(async (q) => (await q.obliterate({ force: true }).catch(() => {}), await q.close())));
    for (const s of [reqStream, outStream]) await jsm.streams.delete(s).catch(() => {});
    await lines.drop().catch(() => {});
    await requests.drop().catch(() => {});
    await resources.drop().catch(() => {});
    await markers.drop().catch(() => {});
  }
}

try {
  console.log(`servers: ${JSON.stringify(pids)}; N=${N} L=${L} P=${P}`);
  await mongoCeiling(MONGO_URL, 8, 2000); // warm-up (JIT of the Java server and of the driver), discarded
  const before = cpuNow();
  const ceiling = await mongoCeiling(MONGO_URL, 8, 5000);
  const ceilingCpu = perRequest(before, cpuNow(), 5000);
  console.log(JSON.stringify({ ceiling, cpuMsPerOp: ceilingCpu }));
  const rows = [];
  for (const v of ['A', 'B', 'C', 'D'] as const) rows.push(await run(v, ceiling));

  const names = { A: 'A floor pipeline', B: 'B no BullMQ', C: 'C padded docs', D: "D a plan change's documents" };
  console.log(`\n| variant | achieved/s | x ceiling | mongo ms/req | redis ms/req | nats ms/req | node ms/req |\n|---|---|---|---|---|---|---|`);
  console.log(`| ceiling (findOneAndUpdate x8) | ${ceiling} | 1 | ${ceilingCpu.mongo} | ${ceilingCpu.redis} | ${ceilingCpu.nats} | ${ceilingCpu.node} |`);
  for (const r of rows) console.log(`| ${names[r.variant]} | ${r.perSecond} | ${r.ratio} | ${r.cpuMsPerRequest.mongo} | ${r.cpuMsPerRequest.redis} | ${r.cpuMsPerRequest.nats} | ${r.cpuMsPerRequest.node} |`);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}-parts-floor.json`;
  writeFileSync(file, JSON.stringify({ requests: N, lines: L, partitions: P, ceiling, ceilingCpuMsPerOp: ceilingCpu, variants: rows }, null, 2) + '\n');
  console.log(`\nwritten: ${file}`);
} finally {
  await closeRedis(redis);
  await nc.drain();
  await mongo.close();
  await stopServices();
}
