import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { JetStreamManager, NatsConnection } from 'nats';
import type { Role, RoleContext } from '../platform/role.js';
import type { Pipeline } from '../platform/pipeline.js';
import { COMMAND_CONSUMER, naming, type Naming } from '../messaging/subjects.js';
import { intakePartitions, LEGACY } from '../messaging/command-layout.js';
import { ensureStreams, streamLimitsOf } from '../messaging/streams.js';
import { consumeUntilStopped } from '../messaging/durable-consumer.js';
import { closeRedis, redisReady, transactionConnection, type RedisClient } from '../infra/redis.js';
import { accountOf, partitionOf, type CommandJob } from '../queues/command-queues.js';
import { intakeCoordinationKeys } from '../queues/intake-keys.js';
import { IntakeLayouts } from './intake-layouts.js';
import { PartitionIntake } from './partition-intake.js';

export { COMMAND_CONSUMER };

/**
 * NATS → BullMQ, by P intake partitions taken in in parallel (command-layout.ts): the command
 * stream stores each command under its account's partition, and each partition is taken in by
 * one process at a time, the holder of its lease (partition-intake.ts), in stream order. Per-line
 * order holds because a line belongs to one account, and an account to one partition.
 *
 * Every process taking commands in runs this coordinator. It says it is there (a sorted set of
 * members with a deadline each), takes free partitions up to its fair share — P divided by the
 * members, rounded up — starting at a different partition for each member, and gives back
 * partitions beyond its share once others arrive, so the partitions spread over the processes
 * and no single process caps the intake. A partition given back is first taken in up to what
 * its holder received, so the next holder starts from there (the fenced cursor does the rest).
 *
 * One account cannot be split: its commands are one ordered sequence. An account that loads a
 * partition alone gets that partition's process (and its command queue) to itself once P is
 * large enough for the hash to spread the others away, and no more than that (docs/scaling.md).
 */
export class CommandIntake implements Role {
  readonly name = 'command-intake';
  private loop: Promise<void> | undefined;
  private names!: Naming;
  private context!: RoleContext;
  private tx: RedisClient | undefined;
  private stopped = false;
  private healthySince = 0;
  private readonly member = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** This process's partition intakes, by `<layout>/<index>`. */
  private readonly partitions = new Map<string, PartitionIntake>();
  private loggedWait = '';

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    // Standing by (every partition held elsewhere) and waiting for an old layout to drain are healthy.
    context.readiness.registerConsumer(this.name, () => Date.now() - this.healthySince < 3 * this.tickMs() + 5000);
    this.loop = consumeUntilStopped('command intake', context.logger, () => this.stopped, () => this.run());
  }

  /** The partitions this process holds now (for the bench, the logs and the tests). */
  held(): string[] {
    return [...this.partitions.values()].filter((p) => p.holding).map((p) => p.partition.consumer);
  }

  /** Commands taken in by this process so far. */
  takenIn(): number {
    return [...this.partitions.values()].reduce((sum, p) => sum + p.takenIn, 0);
  }

  private tickMs(): number {
    return Math.min(1000, Math.max(50, Math.floor(this.context.config.OPENSIM_INTAKE_LEASE_MS / 4)));
  }

  private async run(): Promise<void> {
    const { connections, config } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names, streamLimitsOf(this.context.config));
    if (!this.tx) {
      this.tx = transactionConnection(connections.redis);
      this.tx.on('error', (err) => this.context.logger.debug({ err, service: 'redis' }, 'intake coordination connection error'));
    }
    await redisReady(this.tx);
    const layouts = new IntakeLayouts(connections.redis, this.tx, jsm, this.names, config, this.context.logger);
    await layouts.propose(config.OPENSIM_PARTITIONS);
    try {
      while (!this.stopped) {
        await this.tick(layouts, nc, jsm);
        this.healthySince = Date.now();
        await this.pause(this.tickMs());
      }
    } catch (err) {
      this.healthySince = 0;
      throw err;
    }
  }

  private async tick(layouts: IntakeLayouts, nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const members = await this.heartbeat();
    let listed = await layouts.read();
    if (listed.length === 0) listed = await layouts.propose(this.context.config.OPENSIM_PARTITIONS);
    await layouts.converge(listed);
    if (await layouts.retireOldest(listed)) listed = listed.slice(1);
    const oldest = listed[0]!;
    // Only the oldest layout is taken in; partitions of a retired one are given back.
    for (const [key, intake] of this.partitions) {
      if (intake.partition.layout === oldest) continue;
      await intake.stop();
      this.partitions.delete(key);
    }
    const ready = await layouts.mappingReady(listed, (inFlight, from, to) => {
      const what = `${from}->${to}`;
      if (this.loggedWait !== what) this.context.logger.warn({ from: from ?? 'by service (an earlier version)', to, inFlight }, 'command partitioning changes: taking nothing in until the queues of the old mapping have drained');
      this.loggedWait = what;
    });
    if (!ready) return;
    const mapping = layouts.mappingOf(listed);
    const all = intakePartitions(this.names.prefix, oldest);
    const share = Math.ceil(all.length / members.count);
    const holding = () => [...this.partitions.values()].filter((p) => p.holding);
    // Beyond its share: give one back per tick (taken in up to what it received, then released).
    if (holding().length > share) await holding().at(-1)!.stop();
    // Free ones, up to its share, starting where this member's slice begins.
    const start = Math.floor((members.rank * all.length) / members.count);
    for (let k = 0; k < all.length && holding().length < share && !this.stopped; k++) {
      const partition = all[(start + k) % all.length]!;
      const key = `${partition.layout}/${partition.index}`;
      let intake = this.partitions.get(key);
      if (intake?.holding) continue;
      if (!intake) {
        const route = oldest === LEGACY ? (job: CommandJob) => partitionOf(accountOf(job), mapping) : () => partition.index;
        intake = new PartitionIntake(partition, { context: this.context, pipeline: this.pipeline, names: this.names, nats: nc, jsm, member: this.member, queueIndex: route });
        this.partitions.set(key, intake);
      }
      await intake.tryTake();
    }
  }

  /** Says this process takes part, drops members gone silent; its rank among the members. */
  private async heartbeat(): Promise<{ count: number; rank: number }> {
    const { members } = intakeCoordinationKeys(this.names.prefix);
    const redis = this.context.connections.redis;
    const now = Date.now();
    const ttl = Math.max(3 * this.tickMs(), this.context.config.OPENSIM_INTAKE_LEASE_MS);
    await redis.zadd(members, String(now + ttl), this.member);
    await redis.zremrangebyscore(members, '-inf', String(now));
    const all = await redis.zrange(members, '0', '-1');
    return { count: Math.max(1, all.length), rank: Math.max(0, all.indexOf(this.member)) };
  }

  /** Sleeps, cut short by stop(). */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  /**
   * Stops taking partitions, takes in what each held partition received, in order, within the
   * grace period, and gives them up: handing them back instead would let a process still
   * consuming overtake them (rolling restart).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => {});
    await Promise.all([...this.partitions.values()].map((p) => p.stop()));
    await this.context.connections.redis.zrem(intakeCoordinationKeys(this.names.prefix).members, this.member).catch(() => {});
    if (this.tx) await closeRedis(this.tx);
  }
}
