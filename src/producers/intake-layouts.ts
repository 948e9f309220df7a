import type { JetStreamManager, MsgRequest } from 'nats';
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { type Naming } from '../messaging/subjects.js';
import { commandTransform, intakePartitions, layoutOfTransform, LEGACY, type IntakePartition } from '../messaging/command-layout.js';
import { isNoMessage, isNotFound } from '../messaging/jetstream-errors.js';
import { ensureDurableConsumer } from '../messaging/durable-consumer.js';
import type { RedisClient } from '../infra/redis.js';
import { intakeCoordinationKeys, intakeKeys } from '../queues/intake-keys.js';
import { commandJobsInFlight, commandQueueNames, partitioningOf } from '../queues/partitioning.js';
import type { Config } from '../config/config.js';
import { consumerConfigOf } from './partition-intake.js';

/**
 * The layouts of the command stream (command-layout.ts) whose messages are still to be taken
 * in, oldest first, kept in Redis as a list of P (LEGACY for the single intake of earlier
 * versions). Only the oldest layout is taken in; the next one starts once it has drained:
 * - a new layout is appended, its partitions' durable consumers created, and only then the
 *   stream's transform switched to it (an interest stream drops at once a message no consumer
 *   wants, so the consumers come first);
 * - the oldest layout is drained when the stream stores into another one and each of its
 *   partitions has taken in its last message; it is then removed and its consumers deleted;
 * - a layout that maps commands to the queues differently (another P, or the untagged queues of
 *   earlier versions) starts enqueuing only once no job waits or runs in any command queue
 *   (partitioning.ts): a line's next command never runs before its previous one.
 * A change of OPENSIM_PARTITIONS, or the first start after an upgrade, is therefore a migration
 * that keeps every account's order, with nothing to do by hand.
 */
export class IntakeLayouts {
  private readonly keys: ReturnType<typeof intakeCoordinationKeys>;

  /** `tx`: a connection of its own for the WATCH … EXEC on the list and the partitioning record. */
  constructor(
    private readonly redis: Redis,
    private readonly tx: RedisClient,
    private readonly jsm: JetStreamManager,
    private readonly names: Naming,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.keys = intakeCoordinationKeys(names.prefix);
  }

  async read(): Promise<number[]> {
    return (await this.redis.lrange(this.keys.layouts, 0, -1)).map(Number);
  }

  /**
   * The list as it should be with this process's OPENSIM_PARTITIONS: started from what the stream
   * and its consumers show when the list is missing (a first start, an upgrade, a Redis that lost
   * it), with P appended when it is in none of the layouts still listed.
   */
  async propose(partitions: number): Promise<number[]> {
    for (;;) {
      await this.tx.watch(this.keys.layouts);
      const listed = (await this.tx.lrange(this.keys.layouts, 0, -1)).map(Number);
      const wanted = listed.length > 0 ? [...listed] : await this.found();
      if (!wanted.includes(partitions)) wanted.push(partitions);
      if (wanted.length === listed.length) {
        await this.tx.unwatch();
        return listed;
      }
      const multi = this.tx.multi().del(this.keys.layouts).rpush(this.keys.layouts, ...wanted.map(String));
      if ((await multi.exec()) === null) continue;
      this.logger.info({ from: listed, to: wanted }, 'command stream layouts: what is still taken in, oldest first');
      return wanted;
    }
  }

  /** The layouts the stream shows: unpartitioned (no transform yet, or the single intake's consumer), other layouts' consumers, the transform. */
  private async found(): Promise<number[]> {
    const consumers = await this.jsm.consumers.list(this.names.commandStream).next().catch((err: unknown) => (isNotFound(err) ? [] : Promise.reject(err)));
    const current = await this.transformLayout();
    const layouts = new Set<number>();
    const own = new RegExp(`^${intakePartitions(this.names.prefix, LEGACY)[0]!.consumer}(?:-(\\d+)-\\d+)?$`);
    for (const { name } of consumers) {
      const match = own.exec(name);
      if (match) layouts.add(match[1] === undefined ? LEGACY : Number(match[1]));
    }
    // A stream not partitioned yet may hold commands stored unpartitioned (published before any
    // intake ran, or taken in by an earlier version): they come first.
    if (current === LEGACY) layouts.add(LEGACY);
    layouts.delete(current === LEGACY ? -1 : current);
    return [...[...layouts].sort((a, b) => a - b), ...(current === LEGACY ? [] : [current])];
  }

  /** P of the stream's transform now (LEGACY: none). */
  async transformLayout(): Promise<number> {
    const info = await this.jsm.streams.info(this.names.commandStream);
    return layoutOfTransform(this.names.prefix, info.config.subject_transform);
  }

  /** The newest layout's consumers exist and the stream stores into it. */
  async converge(layouts: readonly number[]): Promise<void> {
    const newest = layouts.at(-1)!;
    if (newest === LEGACY || (await this.transformLayout()) === newest) return;
    for (const partition of intakePartitions(this.names.prefix, newest)) {
      await ensureDurableConsumer(this.jsm, this.names.commandStream, consumerConfigOf(partition, this.config), this.logger);
    }
    await this.jsm.streams.update(this.names.commandStream, { subject_transform: commandTransform(this.names.prefix, newest) });
    this.logger.info({ stream: this.names.commandStream, partitions: newest }, 'command stream partitioned: commands stored by account into P intake partitions');
  }

  /** Whether every message of `layout` is taken in and no more can come (the stream stores into another layout). */
  async drained(layout: number): Promise<boolean> {
    if ((await this.transformLayout()) === layout) return false;
    for (const partition of intakePartitions(this.names.prefix, layout)) {
      if ((await this.untaken(partition)) !== null) return false;
    }
    return true;
  }

  /** The sequence of the partition's first message not taken in yet, or null. */
  private async untaken(partition: IntakePartition): Promise<number | null> {
    const cursor = Number((await this.redis.get(intakeKeys(this.names.prefix, partition).cursor)) ?? 0);
    let floor = 0;
    try {
      floor = (await this.jsm.consumers.info(this.names.commandStream, partition.consumer)).ack_floor.stream_seq;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const next = await this.jsm.streams.getMessage(this.names.commandStream, { seq: Math.max(cursor, floor) + 1, next_by_subj: partition.filter } as unknown as MsgRequest);
      return next.seq;
    } catch (err) {
      if (isNoMessage(err)) return null;
      throw err;
    }
  }

  /** Removes the oldest layout once it has drained and a newer one exists, and deletes its consumers. */
  async retireOldest(layouts: readonly number[]): Promise<boolean> {
    const oldest = layouts[0]!;
    if (layouts.length < 2 || !(await this.drained(oldest))) return false;
    await this.tx.watch(this.keys.layouts);
    if ((await this.tx.lindex(this.keys.layouts, 0)) !== String(oldest)) {
      await this.tx.unwatch();
      return false;
    }
    if ((await this.tx.multi().lpop(this.keys.layouts).exec()) === null) return false;
    for (const partition of intakePartitions(this.names.prefix, oldest)) {
      await this.jsm.consumers.delete(this.names.commandStream, partition.consumer).catch((err: unknown) => {
        if (!isNotFound(err)) this.logger.warn({ err, consumer: partition.consumer }, 'consumer of a drained layout not deleted');
      });
      // Its messages are not purged: the command stream keeps every command for the horizon
      // (limits retention), and max_age removes them.
    }
    this.logger.info({ layout: oldest === LEGACY ? 'single intake (earlier versions)' : oldest, next: layouts[1] }, 'command stream layout drained: its messages are all taken in');
    return true;
  }

  /** The queue mapping the oldest layout enqueues with: its own P, or for the single intake's messages, the next layout's. */
  mappingOf(layouts: readonly number[]): number {
    return layouts[0] === LEGACY ? (layouts[1] ?? this.config.OPENSIM_PARTITIONS) : layouts[0]!;
  }

  /**
   * Whether the oldest layout may enqueue: the queues are recorded as mapped its way, or they are
   * recorded so now because no job waits or runs in any command queue. `waiting` is called while
   * jobs of another mapping are still in flight.
   */
  async mappingReady(layouts: readonly number[], waiting: (inFlight: number, from: string | null, to: string) => void): Promise<boolean> {
    const wanted = partitioningOf(this.mappingOf(layouts));
    await this.tx.watch(this.keys.partitioning);
    const recorded = await this.tx.get(this.keys.partitioning);
    if (recorded === wanted) {
      await this.tx.unwatch();
      return true;
    }
    const names = await commandQueueNames(this.redis, this.names.prefix, this.mappingOf(layouts));
    const inFlight = await commandJobsInFlight(this.redis, names);
    if (inFlight > 0) {
      await this.tx.unwatch();
      waiting(inFlight, recorded, wanted);
      return false;
    }
    if ((await this.tx.multi().set(this.keys.partitioning, wanted).exec()) === null) return false;
    this.logger.info({ from: recorded ?? 'by service (an earlier version)', to: wanted }, 'command partitioning switched');
    return true;
  }
}
