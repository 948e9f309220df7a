import { readFileSync } from 'node:fs';
import { MongoClient, type Db } from 'mongodb';
import { connect, headers, type NatsConnection, type Subscription } from 'nats';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { natsAccessOptions, natsServers } from '../../src/infra/nats-options.js';
import { createRedis, scanKeys } from '../../src/infra/redis.js';
import { startSystem, type RunningSystem } from '../../src/app/system.js';
import { allRoles } from '../../src/app/roles.js';
import { selectRoles, type RoleGroup } from '../../src/app/role-selection.js';
import type { Clock } from '../../src/runtime/clock.js';
import { rolloverQueueName } from '../../src/rollover/month-rollover.js';
import { dueQueueName } from '../../src/workers/scheduler.js';
import { naming } from '../../src/messaging/subjects.js';
import { commandQueueName, partitionOf } from '../../src/queues/command-queues.js';
import { intakePartition } from '../../src/messaging/command-layout.js';
import { Queue } from 'bullmq';
import type { CloudEvent } from '../../src/contract/messages.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { seedFixture } from '../../src/store/seed.js';
import { mongoUrlWithDatabase, services, uniqueName } from './services.js';

export const CATALOG = JSON.parse(readFileSync(new URL('../../fixtures/catalog.json', import.meta.url), 'utf8')) as Pick<Fixture, 'products'>;

/** Environment of one isolated deployment: its own subject prefix (streams, queues) and database, timers shrunk. */
export function isolatedEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: services().natsUrl,
    REDIS_URL: services().redisUrl,
    MONGO_URL: mongoUrlWithDatabase(uniqueName('pipe')),
    OPENSIM_SUBJECT_PREFIX: uniqueName('os'),
    OPENSIM_HTTP_PORT: '0',
    OPENSIM_PARTITIONS: '4',
    OPENSIM_LOCK_DURATION_MS: '2000',
    OPENSIM_RELAY_INTERVAL_MS: '100',
    OPENSIM_SWEEP_FULL_MS: '500',
    OPENSIM_RETRY_BASE_MS: '50',
    OPENSIM_RETRY_MAX_MS: '1000',
    OPENSIM_SHUTDOWN_GRACE_MS: '3000',
    // A process started after a crash takes over the intake within this.
    OPENSIM_INTAKE_LEASE_MS: '3000',
    // JetStream reserves a stream's max bytes up front: many test deployments share one server.
    OPENSIM_EVENTS_MAX_MIB: '64',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** The servers as a test client sees them: publish commands, collect events, read MongoDB and Redis. */
export class PipelineClient {
  readonly events: CloudEvent[] = [];
  private subscription: Subscription | undefined;
  private constructor(
    readonly env: Record<string, string>,
    readonly config: Config,
    readonly nc: NatsConnection,
    readonly mongo: MongoClient,
    readonly redis: Redis,
  ) {}

  static async open(env: Record<string, string>): Promise<PipelineClient> {
    const config = loadConfig(env);
    const nc = await connect({ servers: natsServers(config.NATS_URL), ...natsAccessOptions(config) });
    const mongo = await new MongoClient(config.MONGO_URL).connect();
    // A Cluster with a cluster URL (test:cluster), typed Redis as Connections.redis is (src/infra/redis.ts).
    const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: null }) as Redis;
    const client = new PipelineClient(env, config, nc, mongo, redis);
    client.subscription = nc.subscribe(`${config.OPENSIM_SUBJECT_PREFIX}.>`);
    void (async () => {
      for await (const m of client.subscription!) {
        if (m.subject.includes('.evt.') || m.subject.includes('.mon.')) client.events.push(m.json<CloudEvent>());
      }
    })();
    await nc.flush();
    return client;
  }

  get prefix(): string {
    return this.config.OPENSIM_SUBJECT_PREFIX;
  }

  get db(): Db {
    return this.mongo.db();
  }

  async seed(fixture: Omit<Fixture, 'products'>): Promise<void> {
    await seedFixture(this.db, { ...CATALOG, ...fixture } as Fixture);
  }

  /** Publishes to JetStream (the stream must exist: a running system creates it). */
  async publish(subject: string, body: unknown, msgId?: string): Promise<void> {
    const h = headers();
    if (msgId) h.set('Nats-Msg-Id', msgId);
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    await this.nc.jetstream().publish(`${this.prefix}.${subject}`, payload, { headers: h });
  }

  async planChange(body: Record<string, unknown>, msgId: string | null = String(body.requestId)): Promise<void> {
    await this.publish(`cmd.plan-change.${String(body.clientAccountId)}`, body, msgId ?? undefined);
  }

  /** The streams as the system creates them (the command stream partitioned by OPENSIM_PARTITIONS). */
  async ensureStreams(): Promise<void> {
    const { ensureStreams, streamLimitsOf } = await import('../../src/messaging/streams.js');
    await ensureStreams(await this.nc.jetstreamManager(), naming(this.prefix), streamLimitsOf(this.config));
  }

  eventsOf(type: string, predicate: (e: CloudEvent) => boolean = () => true): CloudEvent[] {
    return this.events.filter((e) => e.type === type && predicate(e));
  }

  /** Waits until `count` events match; fails with what was seen. */
  async waitForEvents(predicate: (e: CloudEvent) => boolean, count = 1, timeoutMs = 20_000): Promise<CloudEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.filter(predicate);
      if (found.length >= count) return found;
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} matching events, saw ${found.length}; all events:\n${this.events.map((e) => `${e.type} ${e.id}`).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Jobs in BullMQ's failed set, over every partition: failures waiting for the dead-letter collector. */
  async failedJobCount(): Promise<number> {
    let count = 0;
    for (let p = 0; p < this.config.OPENSIM_PARTITIONS; p++) {
      const q = this.queue(p);
      count += await q.getFailedCount();
      await q.close();
    }
    return count;
  }

  /** The durable consumer through which the intake takes in an account's commands (its partition's). */
  intakeConsumer(account: string): string {
    const partitions = this.config.OPENSIM_PARTITIONS;
    return intakePartition(this.prefix, partitions, partitionOf(account, partitions)).consumer;
  }

  queue(partition: number): Queue {
    return new Queue(commandQueueName(this.prefix, partition), { connection: this.redis });
  }

  /** Removes every trace of this deployment: streams, queues, database. */
  async cleanup(): Promise<void> {
    await this.subscription?.unsubscribe();
    const names = naming(this.prefix);
    const jsm = await this.nc.jetstreamManager();
    for (const stream of [names.commandStream, names.usageStream, names.eventStream, names.advisoryStream]) await jsm.streams.delete(stream).catch(() => {});
    for (let p = 0; p < this.config.OPENSIM_PARTITIONS; p++) {
      const q = this.queue(p);
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    for (const name of [rolloverQueueName(this.prefix), dueQueueName(this.prefix)]) {
      const queue = new Queue(name, { connection: this.redis });
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
    // The intake's keys: the deployment's, and each partition's (under `{<prefix>-p<i>}`). One by one:
    // in a Redis Cluster the keys of one DEL must share a slot.
    const intakeKeys = [...(await scanKeys(this.redis, `opensim:${this.prefix}:*`)), ...(await scanKeys(this.redis, `opensim:{${this.prefix}-p*`))];
    await Promise.all(intakeKeys.map((key) => this.redis.del(key)));
    await this.db.dropDatabase().catch(() => {});
    await this.nc.drain();
    await this.mongo.close();
    await this.redis.quit();
  }
}

/** The whole system in this process, as `opensim start` runs it. */
export async function startInProcess(env: Record<string, string>, options: { clock?: Clock; groups?: readonly RoleGroup[] } = {}): Promise<RunningSystem> {
  const config = loadConfig(env);
  const roles = options.groups ? selectRoles(allRoles(options), options.groups) : allRoles(options);
  const system = await startSystem(config, createLogger(config.LOG_LEVEL), roles);
  const deadline = Date.now() + 20_000;
  while (!(await system.readiness.check()).ready) {
    if (Date.now() > deadline) throw new Error(`system not ready: ${JSON.stringify(await system.readiness.check())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return system;
}

/** One account, one service, `lines` lines each active on a 20 GiB resource, with spare resources. */
export function fleet(account: string, lineCount: number, spares: { productRef: string; count: number }[] = [{ productRef: 'FPC367678', count: 2 }]): Omit<Fixture, 'products'> {
  const serviceRef = `SVC-${account}`;
  const resources: Fixture['resources'] = [];
  const lines: Fixture['lines'] = [];
  for (let i = 0; i < lineCount; i++) {
    const lineId = `${account}-L${i}`;
    resources.push({ resourceId: `${lineId}-R20`, serviceRef, productRef: 'FPC367679', state: 'active' });
    for (const spare of spares) {
      for (let s = 0; s < spare.count; s++) resources.push({ resourceId: `${lineId}-${spare.productRef}-${s}`, serviceRef, productRef: spare.productRef, state: 'available' });
    }
    lines.push({ lineId, serviceRef, state: 'active', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: `${lineId}-R20` });
  }
  return { services: [{ serviceRef, clientAccountId: account }], resources, lines };
}
