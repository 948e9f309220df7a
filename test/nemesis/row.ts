import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { connect, headers, type JetStreamManager, type NatsConnection } from 'nats';
import type { CloudEvent } from '../../src/contract/messages.js';
import { lineView } from '../../src/domain/line-view.js';
import { scheduledChangeView } from '../../src/domain/index.js';
import type { Product } from '../../src/domain/index.js';
import { ensureStreams } from '../../src/messaging/streams.js';
import { naming } from '../../src/messaging/subjects.js';
import type { LineDocument } from '../../src/store/documents.js';
import { seedFixture } from '../../src/store/seed.js';
import { check, type Observed, type SeenOutcome, type Verdict } from './checker.js';
import { NemesisProcess } from './fleet.js';
import type { NemesisServers, ServerName } from './servers.js';
import { buildWorkload, prng, type Workload, type WorkloadShape } from './workload.js';
import { rollBackRedis, snapshotRedis, type RedisSnapshot } from '../support/redis-loss.js';

export const FAULTS = ['none', 'sigstop', 'kill-nats', 'kill-redis', 'kill-mongo', 'kill-process', 'redis-loss', 'redis-rollback', 'all'] as const;
export type Fault = (typeof FAULTS)[number];

export interface RowOptions {
  seed: number;
  shape: WorkloadShape;
  /** How long publishing the load takes; the faults land inside it. */
  publishMs: number;
  /** How long a process stays frozen (past its job lock and intake lease). */
  freezeMs: number;
  /** How long a killed server stays down. */
  downMs: number;
  /** After publishing, how long to wait for every outcome. */
  settleMs: number;
  servers: NemesisServers;
  artifacts: string;
  /** The compiled entry point the processes run. */
  entry: string;
}

/** What shows that a row's fault took effect. */
export interface Evidence {
  takeovers: number;
  handbacks: number;
  streamReads: number;
  stalledJobs: number;
  natsReconnects: number;
  redisOutages: number;
  mongoOutages: number;
  processesKilled: number;
  processesFrozen: number;
  /** Redis emptied, or rolled back to a snapshot, by the nemesis. */
  redisLosses: number;
  /** Losses the intakes found (their error log), and the commands they took in again. */
  lossesDetected: number;
  commandsRetaken: number;
}

export interface RowResult {
  fault: Fault;
  seed: number;
  verdict: Verdict;
  /** Lines whose view disagrees with their last monitoring event. */
  viewMismatches: number;
  evidence: Evidence;
  landed: boolean;
  seconds: number;
}

/** Timers shrunk so that a frozen process is past its lock and lease within seconds; a patient retry budget. */
const PROCESS_ENV = {
  OPENSIM_HTTP_PORT: '0',
  OPENSIM_PARTITIONS: '8',
  OPENSIM_LOCK_DURATION_MS: '3000',
  OPENSIM_INTAKE_LEASE_MS: '2000',
  OPENSIM_INTAKE_ACK_WAIT_MS: '5000',
  OPENSIM_USAGE_ACK_WAIT_MS: '5000',
  OPENSIM_RETRY_ATTEMPTS: '60',
  OPENSIM_RETRY_BASE_MS: '100',
  OPENSIM_RETRY_MAX_MS: '1000',
  OPENSIM_USAGE_UPDATED_INTERVAL_MS: '1000',
  OPENSIM_RELAY_INTERVAL_MS: '250',
  OPENSIM_SWEEP_FULL_MS: '2000',
  OPENSIM_SHUTDOWN_GRACE_MS: '5000',
  OPENSIM_EVENTS_MAX_MIB: '64',
  LOG_LEVEL: 'info',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runRow(fault: Fault, options: RowOptions): Promise<RowResult> {
  const started = Date.now();
  const random = prng(options.seed ^ FAULTS.indexOf(fault));
  const prefix = `nem_${options.seed}_${fault.replace('-', '_')}`;
  const database = `nemesis_${options.seed}_${fault.replace('-', '_')}`;
  const dir = resolve(options.artifacts, fault);
  mkdirSync(dir, { recursive: true });
  const urls = options.servers.urls;
  const env = { ...PROCESS_ENV, ...urls, MONGO_URL: urls.MONGO_URL.replace(/\/nemesis$/, `/${database}`), OPENSIM_SUBJECT_PREFIX: prefix };
  const workload = buildWorkload(prefix, options.shape, options.seed, new Date());

  const mongo = await new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 30_000 }).connect();
  const nc = await connect({ servers: urls.NATS_URL, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'nemesis-upstream' });
  const jsm = await nc.jetstreamManager();
  await seedFixture(mongo.db(), workload.fixture);
  await ensureStreams(jsm, naming(prefix));

  const processes: NemesisProcess[] = [];
  let spawned = 0;
  const spawnOne = () => {
    const p = new NemesisProcess(`p${spawned}`, options.entry, env, resolve(dir, `p${spawned++}.log`));
    processes.push(p);
    return p;
  };
  const evidence: Evidence = { takeovers: 0, handbacks: 0, streamReads: 0, stalledJobs: 0, natsReconnects: 0, redisOutages: 0, mongoOutages: 0, processesKilled: 0, processesFrozen: 0, redisLosses: 0, lossesDetected: 0, commandsRetaken: 0 };
  const stopPolling = pollReadiness(processes, evidence);
  try {
    await Promise.all([spawnOne(), spawnOne()].map((p) => p.ready(60_000)));
    await Promise.all([publish(nc, workload, options.publishMs), inject(fault, options, random, processes, spawnOne, evidence)]);
    const reader = new EventReader(jsm, naming(prefix).eventStream);
    await settle(workload, reader, mongo, options.settleMs);
    // Held-back usage.updated notices go out within their interval (1 s here).
    await sleep(2500);
    await reader.poll();
    for (const p of processes) {
      evidence.takeovers += p.count(/^intake partition taken$/);
      evidence.handbacks += p.count(/lost its lease/);
      evidence.streamReads += p.count(/read from the stream/);
      evidence.stalledJobs += p.count(/command job stalled/);
      evidence.natsReconnects += p.count(/^nats reconnect$/);
      evidence.lossesDetected += p.count(/^Redis lost commands it had taken in/);
      evidence.commandsRetaken += p.logs.filter((l) => l.msg === 'commands taken in again after a Redis loss').reduce((sum, l) => sum + Number((l as { commands?: number }).commands ?? 0), 0);
    }
    evidence.takeovers = Math.max(0, evidence.takeovers - 1);
    const observed = await observe(workload, reader, mongo);
    const verdict = check(workload, observed);
    const viewMismatches = await viewsAgainstEvents(workload, reader, mongo);
    return { fault, seed: options.seed, verdict, viewMismatches, evidence, landed: landed(fault, evidence), seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    stopPolling();
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup(jsm, prefix, mongo, urls.REDIS_URL);
    await mongo.close();
    await nc.close();
  }
}

/** A patient upstream: each message in publish order, paced, sent again with the same Nats-Msg-Id until JetStream acknowledges it. */
async function publish(nc: NatsConnection, workload: Workload, publishMs: number): Promise<void> {
  const js = nc.jetstream();
  const interval = publishMs / workload.messages.length;
  const start = Date.now();
  for (const [i, message] of workload.messages.entries()) {
    const due = start + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const h = headers();
    h.set('Nats-Msg-Id', message.msgId);
    for (let attempt = 1; ; attempt++) {
      try {
        await js.publish(message.subject, JSON.stringify(message.body), { headers: h, timeout: 2000 });
        break;
      } catch {
        await sleep(Math.min(1000, 100 * attempt));
      }
    }
  }
}

/** The row's faults, at seeded moments inside the publishing window. */
async function inject(fault: Fault, o: RowOptions, random: () => number, processes: NemesisProcess[], spawnOne: () => NemesisProcess, evidence: Evidence): Promise<void> {
  const at = (fraction: number) => Math.round(o.publishMs * (fraction + (random() - 0.5) * 0.1));
  const plan: { at: number; act: () => Promise<void> }[] = [];
  const live = () => processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  /** The process taking commands in now (the last to say so), else any. */
  const holder = () => live().sort((a, b) => lastConsuming(b) - lastConsuming(a))[0]!;
  const freeze = async () => {
    const p = holder();
    p.signal('SIGSTOP');
    evidence.processesFrozen += 1;
    await sleep(o.freezeMs);
    p.signal('SIGCONT');
  };
  const restartServer = (server: ServerName) => async () => {
    o.servers.kill(server);
    await sleep(o.downMs);
    await o.servers.start(server);
  };
  const killProcess = async () => {
    holder().killGroup();
    evidence.processesKilled += 1;
    await sleep(2000);
    await spawnOne().ready(60_000);
  };
  if (fault === 'sigstop') plan.push({ at: at(0.3), act: freeze });
  if (fault === 'kill-nats') plan.push({ at: at(0.4), act: restartServer('nats') });
  if (fault === 'kill-redis') plan.push({ at: at(0.4), act: restartServer('redis') });
  if (fault === 'kill-mongo') plan.push({ at: at(0.4), act: restartServer('mongo') });
  if (fault === 'kill-process') plan.push({ at: at(0.4), act: killProcess });
  // Redis restarted without its files, or a failover to a replica that had nothing.
  const emptyRedis = async () => {
    await o.servers.redis((r) => r.flushall());
    evidence.redisLosses += 1;
  };
  // A replica that missed the last writes, promoted: an earlier snapshot comes back, in one MULTI.
  let snapshot: RedisSnapshot | undefined;
  // The nemesis's Redis is its own: the whole of it ('' matches every key).
  const takeSnapshot = async () => {
    snapshot = await o.servers.redis((r) => snapshotRedis(r, ''));
  };
  const rollBack = async () => {
    await o.servers.redis((r) => rollBackRedis(r, '', snapshot!));
    evidence.redisLosses += 1;
  };
  if (fault === 'redis-loss') plan.push({ at: at(0.45), act: emptyRedis });
  if (fault === 'redis-rollback') plan.push({ at: at(0.25), act: takeSnapshot }, { at: at(0.55), act: rollBack });
  if (fault === 'all') {
    plan.push(
      { at: at(0.08), act: freeze },
      { at: at(0.2), act: takeSnapshot },
      { at: at(0.28), act: restartServer('nats') },
      { at: at(0.4), act: rollBack },
      { at: at(0.5), act: restartServer('redis') },
      { at: at(0.62), act: restartServer('mongo') },
      { at: at(0.72), act: emptyRedis },
      { at: at(0.82), act: killProcess },
    );
  }
  const start = Date.now();
  // One after the other: each starts at its moment or once the previous is over.
  for (const step of plan) {
    const wait = start + step.at - Date.now();
    if (wait > 0) await sleep(wait);
    await step.act();
  }
}

function lastConsuming(p: NemesisProcess): number {
  for (let i = p.logs.length - 1; i >= 0; i--) if (p.logs[i]!.msg === 'intake partition taken') return i + 1;
  return 0;
}

/** Counts, per process, each time /readyz says a server is unreachable (Redis or MongoDB away). */
function pollReadiness(processes: NemesisProcess[], evidence: Evidence): () => void {
  const down = new Map<string, boolean>();
  const timer = setInterval(() => {
    for (const p of processes) {
      if (p.httpPort === undefined) continue;
      // Longer than /readyz's own check (1 s a server): with MongoDB away, the answer that says so comes after it.
      void fetch(`http://127.0.0.1:${p.httpPort}/readyz`, { signal: AbortSignal.timeout(3000) })
        .then((r) => r.json() as Promise<{ services?: Record<string, boolean> }>)
        .then((body) => {
          for (const service of ['redis', 'mongo'] as const) {
            const isDown = body.services?.[service] === false;
            const key = `${p.name}:${service}`;
            if (isDown && !down.get(key)) evidence[service === 'redis' ? 'redisOutages' : 'mongoOutages'] += 1;
            down.set(key, isDown);
          }
        })
        .catch(() => {});
    }
  }, 300);
  return () => clearInterval(timer);
}

/** Every event of the row, read from the events stream by sequence (it survives NATS restarts). */
class EventReader {
  readonly events: { seq: number; subject: string; event: CloudEvent }[] = [];
  private next = 1;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
  ) {}

  async poll(): Promise<void> {
    try {
      const last = (await this.jsm.streams.info(this.stream)).state.last_seq;
      for (; this.next <= last; this.next++) {
        const m = await this.jsm.streams.getMessage(this.stream, { seq: this.next });
        this.events.push({ seq: m.seq, subject: m.subject, event: m.json<CloudEvent>() });
      }
    } catch {
      // NATS away for a moment: the next poll goes on from here.
    }
  }

  outcomes(): Map<string, SeenOutcome[]> {
    const seen = new Map<string, Map<string, SeenOutcome>>();
    for (const { event } of this.events) {
      if (!event.type.startsWith('opensim.plan-change.')) continue;
      const id = String(event.data.requestId);
      const byId = seen.get(id) ?? new Map<string, SeenOutcome>();
      byId.set(event.id, { id: event.id, type: event.type, reason: (event.data.reason as string | undefined) ?? null });
      seen.set(id, byId);
    }
    return new Map([...seen].map(([id, byId]) => [id, [...byId.values()]]));
  }
}

/** Waits until every request has an outcome and every usage record is counted, or the time is up. */
async function settle(workload: Workload, reader: EventReader, mongo: MongoClient, settleMs: number): Promise<void> {
  const requests = workload.messages.filter((m) => m.kind === 'plan-change').map((m) => m.msgId);
  const usageTotal = workload.messages.reduce((sum, m) => sum + (m.kind === 'usage' ? m.body.bytes : 0), 0);
  const deadline = Date.now() + settleMs;
  while (Date.now() < deadline) {
    await reader.poll();
    const outcomes = reader.outcomes();
    if (requests.every((id) => outcomes.has(id)) && (await countedUsage(mongo)) >= usageTotal) return;
    await sleep(500);
  }
}

async function countedUsage(mongo: MongoClient): Promise<number> {
  const lines = await mongo.db().collection<LineDocument>('lines').find({}, { projection: { month: 1 } }).toArray().catch(() => []);
  return lines.reduce((sum, l) => sum + (l.month ? l.month.usage.frBytes + l.month.usage.euBytes : 0), 0);
}

async function observe(workload: Workload, reader: EventReader, mongo: MongoClient): Promise<Observed> {
  const lines = await mongo.db().collection<LineDocument>('lines').find({}).toArray();
  return {
    outcomes: reader.outcomes(),
    history: new Map(lines.map((l) => [l._id, l.line.planHistory.slice(1).map((h) => h.requestId ?? '?')])),
    usageBytes: new Map(lines.map((l) => [l._id, l.month ? l.month.usage.frBytes + l.month.usage.euBytes : 0])),
  };
}

/** After the last event of a line, the line view (derived from the line as stored) and that event agree. */
async function viewsAgainstEvents(workload: Workload, reader: EventReader, mongo: MongoClient): Promise<number> {
  const products = Object.fromEntries(workload.fixture.products.map((p) => [p.productRef, p as Product]));
  const lines = await mongo.db().collection<LineDocument>('lines').find({}).toArray();
  const now = new Date().toISOString();
  let mismatches = 0;
  for (const doc of lines) {
    const last = [...reader.events].reverse().find(({ event }) => (event.type === 'opensim.usage.updated' || event.type === 'opensim.envelope.recomputed') && event.data.lineId === doc._id)?.event;
    if (!last) continue;
    const view = lineView({ line: doc.line, clientAccountId: doc.clientAccountId, month: doc.month, enforcement: doc.enforcement ?? null, scheduledChange: scheduledChangeView(doc.line), version: doc.version, updatedAt: doc.updatedAt ?? null }, products, now);
    const data = last.data as { usage: { usedBytes: number }; dataState: string; envelopeBytes?: number | null; envelope?: { totalBytes: number | null } };
    const envelope = last.type === 'opensim.usage.updated' ? data.envelopeBytes : data.envelope?.totalBytes;
    if (view.usage.usedBytes !== data.usage.usedBytes || view.dataState !== data.dataState || view.envelope.totalBytes !== envelope) mismatches += 1;
  }
  return mismatches;
}

function landed(fault: Fault, e: Evidence): boolean {
  // The frozen process held partitions that another took over: it found its leases lost when it woke.
  const frozen = e.processesFrozen > 0 && e.handbacks > 0;
  const nats = e.natsReconnects > 0;
  const redis = e.redisOutages > 0;
  const mongo = e.mongoOutages > 0;
  const killed = e.processesKilled > 0 && (e.takeovers > 0 || e.stalledJobs > 0);
  // Every loss caused was found by an intake (a loss that nothing had taken in yet leaves nothing to find).
  const lost = e.redisLosses > 0 && e.lossesDetected > 0;
  switch (fault) {
    case 'none':
      return true;
    case 'sigstop':
      return frozen;
    case 'kill-nats':
      return nats;
    case 'kill-redis':
      return redis;
    case 'kill-mongo':
      return mongo;
    case 'kill-process':
      return killed;
    case 'redis-loss':
    case 'redis-rollback':
      return lost;
    case 'all':
      return frozen && nats && redis && mongo && killed && lost;
  }
}

/** Removes the row's streams, database and Redis keys. */
async function cleanup(jsm: JetStreamManager, prefix: string, mongo: MongoClient, redisUrl: string): Promise<void> {
  const names = naming(prefix);
  for (const stream of [names.commandStream, names.usageStream, names.eventStream, names.advisoryStream]) await jsm.streams.delete(stream).catch(() => {});
  await mongo.db().dropDatabase().catch(() => {});
  const redis = new Redis(redisUrl);
  try {
    for (const pattern of [`bull:${prefix}-*`, `opensim:${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

