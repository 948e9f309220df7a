import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamManager, type JsMsg, type MsgRequest, type NatsConnection, type StoredMsg } from 'nats';
import type { Redis } from 'ioredis';
import type { RoleContext } from '../platform/role.js';
import type { Pipeline } from '../platform/pipeline.js';
import { commandKindOf, publishedSubject, type Naming } from '../messaging/subjects.js';
import type { IntakePartition } from '../messaging/command-layout.js';
import { isNoMessage } from '../messaging/jetstream-errors.js';
import { ackWaitMs, ensureDurableConsumer, stopConsuming } from '../messaging/durable-consumer.js';
import { redisReady, resyncTransactionConnection, transactionConnection, closeRedis, type RedisClient } from '../infra/redis.js';
import { insertOnce } from '../store/insert-once.js';
import { requestKey } from '../store/documents.js';
import { advanceCheckpoint, decidedPrefix, readCheckpoint, type TakenCommand } from '../store/intake-checkpoints.js';
import { failpoint } from '../runtime/failpoints.js';
import { accountOf, messageIdOf, type CommandJob } from '../queues/command-queues.js';
import { intakeKeys } from '../queues/intake-keys.js';
import { backoffMs } from '../runtime/retry.js';
import { givenUpVerdict } from './given-up.js';
import { IntakeCursor, type TakenIn } from './intake-cursor.js';
import { IntakeLease } from './intake-lease.js';
import { invalidPayloadLetter, streamLetterId, type RawMessage } from './invalid-payload.js';
import { parseCommand } from './parse-command.js';
import { IntakeSpans } from '../tracing/intake-spans.js';

/** Messages taken in together, in one Redis transaction, at most. */
const BATCH = 64;

/** A command message in hand: delivered by the consumer, or read from the stream. */
interface InHand extends RawMessage {
  seq: number;
  delivery?: JsMsg;
}

/** The fenced commit was refused: another process holds the partition now. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/** Redis no longer has what this holding took in (its cursor is gone, or behind): hand back, and the next holding takes it in again. */
class RedisLost extends Error {
  override readonly name = 'RedisLost';
}

/** How often the holder advances the partition's durable checkpoint and checks that Redis still has its cursor. */
const CHECKPOINT_EVERY_MS = 1000;
/** Commands looked up at most per checkpoint pass. */
const CHECKPOINT_PAGE = 1000;

/** Where a delivery stands in the consumer's deliveries: adjacency of two first deliveries proves no message lies between. */
interface Delivered {
  seq: number;
  deliverySeq: number;
  first: boolean;
}

/** What a partition intake needs of the process around it. */
export interface PartitionIntakeDeps {
  context: RoleContext;
  pipeline: Pipeline;
  names: Naming;
  nats: NatsConnection;
  jsm: JetStreamManager;
  /** This process among the intake's members (host:pid:…): the lease's token names it. */
  member: string;
  /** The command queue a job of this partition goes to. */
  queueIndex: (job: CommandJob) => number;
}

/**
 * NATS → BullMQ for one intake partition (command-layout.ts), in stream order, by one process at
 * a time: the one holding the partition's lease. Each command is parsed, validated and enqueued
 * under a job id derived from its request id; messages are acknowledged only once Redis has
 * their jobs.
 *
 * Order does not rest on delivery timing. A cursor in Redis says up to which stream sequence the
 * partition's commands are taken in, and moves with the jobs, in one transaction fenced by the
 * lease (intake-cursor.ts). The holder takes the partition's message after the cursor next,
 * whoever JetStream delivered it to: a delivered message is taken only when it is known to be
 * the next (the delivery right after the one of the message before, both first deliveries, or
 * the stream says so: STREAM.MSG.GET with next_by_subj); if another process holds the next one
 * unacknowledged (it stalled, or died), the holder reads it from the stream. A redelivery of what
 * is already taken in is simply acknowledged. So no command overtakes an earlier one of its
 * partition, however deliveries, redeliveries and handovers interleave, and a process that wakes
 * after losing its lease adds nothing.
 */
export class PartitionIntake {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly lease: IntakeLease;
  private redis: RedisClient | undefined;
  private cursor: IntakeCursor | undefined;
  /** Asked to stop: no more pulls, what is held is taken in. */
  private stopping = false;
  /** The lease was lost during this holding: hand everything back. */
  private lost = false;
  /** Delivered messages not taken in yet, by stream sequence. */
  private readonly held = new Map<number, JsMsg>();
  /** Sequences whose attempt this holding has counted (poison messages, see takeInBatch). */
  private readonly counted = new Set<number>();
  /** The delivery of the message the cursor is at, when it came delivered in this holding. */
  private lastDelivered: Delivered | undefined;
  private wake: (() => void) | undefined;
  /** Where this holding's cursor is: Redis must have it there (or further, never behind). */
  private position: number | null = null;
  /** Commands taken in whose outcome the checkpoint has not seen yet, in stream order. */
  private unsettled: TakenCommand[] = [];
  /** At a takeover, the commands between the checkpoint and the cursor, read from the stream before the checkpoint moves. */
  private backfill: { next: number; to: number } | null | undefined;
  /** Where this holding started taking in. */
  private startedAt = 0;
  private backfilled: TakenCommand[] = [];
  /** After a loss: commands up to this sequence are taken in again (counted). */
  private retakeUpTo = 0;
  private checkpointing: Promise<void> | undefined;
  /** Commands taken in by this process, for the bench and the logs. */
  takenIn = 0;

  constructor(
    readonly partition: IntakePartition,
    private readonly deps: PartitionIntakeDeps,
  ) {
    const { context, names } = deps;
    this.lease = new IntakeLease(context.connections.redis, intakeKeys(names.prefix, partition).lease, context.config.OPENSIM_INTAKE_LEASE_MS, deps.member);
  }

  /** True from a successful `tryTake` until the holding ends (stopped, lease lost, failure). */
  get holding(): boolean {
    return this.loop !== undefined;
  }

  /** Takes the partition if nobody holds it; the taking in then runs until `stop()` or the lease is lost. */
  async tryTake(): Promise<boolean> {
    if (this.loop || !(await this.lease.tryAcquire())) return false;
    this.stopping = false;
    this.lost = false;
    this.counted.clear();
    this.lastDelivered = undefined;
    this.position = null;
    this.unsettled = [];
    this.backfill = undefined;
    this.backfilled = [];
    this.retakeUpTo = 0;
    this.loop = this.run()
      .catch((err) => this.deps.context.logger.error({ err, consumer: this.partition.consumer }, 'intake partition interrupted; handed back'))
      .finally(() => {
        this.loop = undefined;
      });
    return true;
  }

  private async run(): Promise<void> {
    const { context, names, jsm, nats } = this.deps;
    const { config, logger } = context;
    const token = this.lease.token;
    const takenBefore = this.takenIn;
    const heartbeat = setInterval(() => this.keepHeld(), 1000);
    let checkpoints: NodeJS.Timeout | undefined;
    this.lease.keep(() => this.handBack('its lease renewal found another holder'));
    try {
      const consumerConfig = await ensureDurableConsumer(jsm, names.commandStream, consumerConfigOf(this.partition, config), logger);
      // Heartbeats follow the consumer as JetStream holds it, not this process's configuration.
      clearInterval(heartbeat);
      const keepEvery = Math.max(250, Math.floor(ackWaitMs(consumerConfig) / 3));
      const keeping = setInterval(() => this.keepHeld(), keepEvery);
      try {
        this.redis = transactionConnection(context.connections.redis);
        this.redis.on('error', (err) => logger.debug({ err, service: 'redis' }, 'intake connection error'));
        await redisReady(this.redis);
        this.cursor = new IntakeCursor(this.redis, intakeKeys(names.prefix, this.partition), names.prefix, this.deps.queueIndex);
        const at = await this.startingCursor(token);
        if (at === null) throw new LeaseLost();
        this.position = at;
        this.startedAt = at;
        checkpoints = setInterval(() => this.checkpoint(), CHECKPOINT_EVERY_MS);
        const consumer = await nats.jetstream().consumers.get(names.commandStream, this.partition.consumer);
        // A pull request stays open on the server while its process is frozen, and whatever is
        // delivered to it waits for the ack wait: short-lived pulls bound how much a stalled holder hogs.
        const messages = await consumer.consume({ max_messages: config.OPENSIM_INTAKE_MAX_IN_FLIGHT, expires: Math.min(30_000, Math.max(1_000, config.OPENSIM_INTAKE_LEASE_MS)) });
        this.messages = messages;
        logger.info({ stream: names.commandStream, consumer: this.partition.consumer, cursor: at }, 'intake partition taken');
        const pumped = this.pump(messages);
        await this.takeIn(token, at);
        await messages.close().catch(() => {});
        await pumped;
      } finally {
        clearInterval(keeping);
        clearInterval(checkpoints);
        await this.checkpointing;
      }
    } catch (err) {
      if (err instanceof RedisLost) this.handBack(err.message);
      else if (err instanceof LeaseLost) this.handBack('the fence refused its enqueue');
      else throw err;
    } finally {
      clearInterval(heartbeat);
      for (const msg of this.held.values()) msg.nak();
      this.held.clear();
      await this.lease.release().catch(() => {});
      logger.info({ consumer: this.partition.consumer, takenIn: this.takenIn - takenBefore }, 'intake partition given back');
      await this.cursor?.close();
      if (this.redis) await closeRedis(this.redis);
      this.cursor = undefined;
      this.redis = undefined;
    }
  }

  /**
   * Where taking in resumes, and whether Redis lost what it had taken in. The cursor in Redis
   * normally stands at or after the consumer's ack floor (a command is acknowledged only once
   * Redis holds its job): then nothing else is read, and MongoDB need not answer. A cursor that is
   * gone while the ack floor says commands were taken in (Redis came back empty), or that stands
   * behind the ack floor (Redis rolled back), is a loss: the cursor goes back to the partition's
   * checkpoint in MongoDB (or to the rolled-back cursor, if earlier; to the stream's start when no
   * checkpoint was written yet) and every command after it is taken in again, in stream order. The
   * command stream keeps them (limits retention), and those already decided are passed by the
   * workers as duplicates.
   */
  private async startingCursor(token: string): Promise<number | null> {
    const { jsm, names, pipeline, context } = this.deps;
    const cursor = this.cursor!;
    const consumer = this.partition.consumer;
    const at = await cursor.read();
    const floor = (await jsm.consumers.info(names.commandStream, consumer)).ack_floor.stream_seq;
    if (at !== null && at >= floor) return at;
    if (at === null && floor === 0) {
      // Nothing was ever acknowledged: a first start (what Redis lost unacknowledged is delivered again).
      if ((await cursor.initialise(token, 0)) === 'lease-lost') return null;
      return cursor.read();
    }
    const checkpoint = (await readCheckpoint(pipeline.collections, consumer)) ?? 0;
    const from = Math.min(at ?? checkpoint, checkpoint);
    const kind = at === null ? 'empty' : 'rolled-back';
    context.metrics.redisLossDetected(kind);
    context.logger.error(
      { consumer, kind, cursor: at, ackFloor: floor, checkpoint, takenInAgainFrom: from + 1, takenInAgainUpTo: floor },
      'Redis lost commands it had taken in: taking them in again from the command stream',
    );
    // Past the horizon: what the stream dropped since the checkpoint cannot be taken in again. Said, never silent.
    const first = (await jsm.streams.info(names.commandStream)).state.first_seq;
    if (checkpoint > 0 && from + 1 < first) {
      context.metrics.commandsUnrecoverable();
      context.logger.error({ consumer, lostFrom: from + 1, lostTo: first - 1, horizonHours: context.config.OPENSIM_INBOUND_MAX_AGE_HOURS }, 'commands after the checkpoint are no longer in the command stream (past OPENSIM_INBOUND_MAX_AGE_HOURS): those of this partition among them cannot be taken in again');
    }
    if ((await cursor.reset(token, from)) === 'lease-lost') return null;
    this.retakeUpTo = floor;
    return from;
  }

  /**
   * One checkpoint pass: the first commands taken in whose outcomes are recorded move the
   * partition's checkpoint forward; and Redis must still have this holding's cursor (a Redis
   * that came back empty or rolled back under a running process, idle or not, is found here).
   */
  private checkpoint(): void {
    if (this.checkpointing || this.lost || this.position === null) return;
    this.checkpointing = this.checkpointPass()
      .catch((err) => this.deps.context.logger.debug({ err, consumer: this.partition.consumer }, 'intake checkpoint pass incomplete; next pass retries'))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  private async checkpointPass(): Promise<void> {
    const { pipeline, names } = this.deps;
    // Where this holding had put the cursor before the read: a commit landing meanwhile only moves it further.
    const expected = this.position!;
    const at = await this.cursor?.read();
    if (at === undefined || this.lost) return;
    if (at === null || at < expected) {
      this.handBack(at === null ? 'Redis lost its cursor (it came back empty)' : `Redis has its cursor at ${at}, behind ${expected} (rolled back)`);
      return;
    }
    if (this.backfill === undefined) {
      // First pass of this holding: what lies between the checkpoint and where this holding
      // started was taken in by an earlier one; read it back before the checkpoint may move past it.
      const checkpoint = (await readCheckpoint(pipeline.collections, this.partition.consumer)) ?? 0;
      this.backfill = this.startedAt > checkpoint ? { next: checkpoint, to: this.startedAt } : null;
    }
    if (this.backfill) {
      let next = this.backfill.next;
      for (let reads = 0; reads < CHECKPOINT_PAGE && next < this.backfill.to; reads++) {
        const stored = await this.nextStored(next);
        if (stored === null || stored.seq > this.backfill.to) {
          next = this.backfill.to;
          break;
        }
        this.backfilled.push(takenCommandOf(names.prefix, stored, this.deps.context.config.OPENSIM_MAX_PAYLOAD_BYTES));
        next = stored.seq;
      }
      if (next < this.backfill.to) {
        this.backfill.next = next;
        return;
      }
      // Backfilled commands precede everything this holding took in.
      this.backfill = null;
      this.unsettled = [...this.backfilled, ...this.unsettled];
      this.backfilled = [];
    }
    const page = this.unsettled.slice(0, CHECKPOINT_PAGE);
    if (page.length === 0) return;
    const decided = await decidedPrefix(pipeline.collections, page);
    if (decided === 0) return;
    await advanceCheckpoint(pipeline.collections, this.partition.consumer, page[decided - 1]!.seq, pipeline.clock().toISOString());
    this.unsettled = this.unsettled.slice(decided);
  }

  /** Delivered messages go to `held`, in any order; the taking in picks them by sequence. */
  private async pump(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.lost) {
        msg.nak();
        continue;
      }
      // A redelivery of one still held (its ack wait ran out while this process was starved, or
      // NATS restarted) replaces it: either delivery's ack acknowledges the message. Never nak the
      // older one: JetStream would redeliver at once, again and again, while it waits its turn.
      this.held.set(msg.seq, msg);
      this.wake?.();
    }
  }

  private async takeIn(token: string, from: number): Promise<void> {
    const poll = Math.min(1000, Math.max(50, Math.floor(this.deps.context.config.OPENSIM_INTAKE_LEASE_MS / 4)));
    let at = from;
    let quietSince = Date.now();
    while (!this.lost) {
      // Already taken in: a redelivery of what a stalled holder left, or of what was read from the stream.
      for (const [seq, msg] of this.held) {
        if (seq > at) continue;
        this.acknowledge(msg);
        this.held.delete(seq);
      }
      // Taking in again what Redis lost: acknowledged already, so read from the stream, a batch at a time.
      if (at < this.retakeUpTo) {
        const again = await this.retried(() => this.storedRun(at, this.retakeUpTo));
        if (again.length > 0) {
          at = await this.takeInBatch(token, at, again);
          quietSince = Date.now();
          continue;
        }
        this.retakeUpTo = 0;
      }
      let batch = await this.deliveredRun(at);
      if (batch.length === 0) {
        if (this.stopping && this.held.size === 0) return;
        // The next one is not in hand. If later ones are, or nothing came for a while, another
        // holder may have it (stalled, or dead), or it is not delivered yet: read it.
        if (this.held.size === 0 && (this.stopping || Date.now() - quietSince < poll)) {
          if (this.stopping) return;
          await this.nextDelivery(poll);
          continue;
        }
        const read = await this.retried(() => this.nextStored(at));
        if (read === null) {
          quietSince = Date.now();
          if (this.stopping) return;
          await this.nextDelivery(poll);
          continue;
        }
        this.deps.context.logger.info({ consumer: this.partition.consumer, seq: read.seq }, 'command read from the stream: another holder has it, or it is not delivered yet');
        batch = [read];
      }
      at = await this.takeInBatch(token, at, batch);
      quietSince = Date.now();
    }
  }

  /**
   * The delivered messages that come next after `at`, in order, at most a batch. The first is
   * next if its delivery directly follows the one of the message at `at` (both first deliveries:
   * JetStream delivers first deliveries in stream order, so nothing lies between), else if the
   * stream says so; each further one if its delivery directly follows the one before.
   */
  private async deliveredRun(at: number): Promise<InHand[]> {
    if (this.held.size === 0) return [];
    const seqs = [...this.held.keys()].sort((a, b) => a - b);
    const first = this.held.get(seqs[0]!)!;
    if (!adjacent(this.lastDelivered, first, at)) {
      const next = await this.retried(() => this.nextStored(at));
      if (next === null || next.seq > first.seq) {
        // Gone from the stream (an operator removed it): nothing of the partition to take in there.
        this.deps.context.logger.warn({ consumer: this.partition.consumer, seq: first.seq }, 'command no longer in the stream: passed');
        first.ack();
        this.held.delete(first.seq);
        return [];
      }
      if (next.seq !== first.seq) return [];
    }
    const run: InHand[] = [inHand(this.deps.names.prefix, first)];
    for (let k = 1; k < seqs.length && run.length < BATCH; k++) {
      const msg = this.held.get(seqs[k]!)!;
      if (!adjacent(deliveredOf(run.at(-1)!.delivery!), msg, run.at(-1)!.seq)) break;
      run.push(inHand(this.deps.names.prefix, msg));
    }
    return run;
  }

  /** The partition's messages after `at` up to `upTo`, as the stream holds them, in order, at most a batch. */
  private async storedRun(at: number, upTo: number): Promise<InHand[]> {
    const run: InHand[] = [];
    for (let from = at; run.length < BATCH; ) {
      const next = await this.nextStored(from);
      if (next === null || next.seq > upTo) break;
      run.push(next);
      from = next.seq;
    }
    return run;
  }

  /** The partition's first message after `at` as the stream holds it, or null if there is none (yet). */
  private async nextStored(at: number): Promise<InHand | null> {
    const { jsm, names } = this.deps;
    let stored: StoredMsg;
    try {
      // The server's STREAM.MSG.GET takes next_by_subj (the first match at or after seq); nats.js types it for direct gets only.
      stored = await jsm.streams.getMessage(names.commandStream, { seq: at + 1, next_by_subj: this.partition.filter } as unknown as MsgRequest);
    } catch (err) {
      if (isNoMessage(err)) return null;
      throw err;
    }
    const held = this.held.get(stored.seq);
    if (held) return inHand(names.prefix, held);
    return { seq: stored.seq, subject: publishedSubject(names.prefix, stored.subject), data: stored.data, headers: stored.header };
  }

  /**
   * Takes a batch in: parse, refuse what is invalid, then one fenced commit of the jobs and the
   * cursor; acknowledges the deliveries once Redis holds them. A message that crashed the process
   * while being taken in is counted: it is then taken in alone, and past the delivery cap it is
   * given up on (dead-lettered), so one bad message cannot stop the intake for good.
   */
  private async takeInBatch(token: string, at: number, batch: InHand[]): Promise<number> {
    const { config } = this.deps.context;
    const first = batch[0]!;
    if (!this.counted.has(first.seq)) {
      this.counted.add(first.seq);
      const attempts = await this.retried(() => this.cursor!.countAttempt(first.seq));
      if (attempts > 1) batch = [first];
      if (attempts > config.OPENSIM_INTAKE_MAX_DELIVER) return this.giveUp(token, at, first, attempts - 1);
    }
    const spans = new IntakeSpans(batch, { 'opensim.intake.consumer': this.partition.consumer });
    try {
      const taken = await this.retried(() => this.parse(batch, spans));
      for (const t of taken) if (t.job) failpoint('intake:before-enqueue', messageIdOf(t.job));
      await this.commit(token, at, taken);
      this.takenIn += taken.length;
      this.passed(batch);
      spans.end();
      return batch.at(-1)!.seq;
    } catch (err) {
      spans.end(err);
      throw err;
    }
  }

  /** The batch is in the pipeline: acknowledge its deliveries, remember where the last one stood. */
  private passed(batch: readonly InHand[]): void {
    const last = batch.at(-1)!;
    this.lastDelivered = last.delivery ? deliveredOf(last.delivery) : undefined;
    for (const m of batch) {
      if (!m.delivery) continue;
      this.acknowledge(m.delivery);
      this.held.delete(m.seq);
    }
  }

  /**
   * The fenced commit, tried again while Redis is away; a commit whose reply was lost is found by
   * the cursor. A cursor gone or behind `at` means Redis lost what this holding took in (RedisLost).
   */
  private async commit(token: string, at: number, taken: TakenIn[]): Promise<void> {
    const cursor = this.cursor!;
    await this.retried(async () => {
      try {
        if ((await cursor.commit(token, at, taken)) === 'lease-lost') throw new LeaseLost();
      } catch (err) {
        if (err instanceof LeaseLost) throw err;
        // A Cluster's slot moved, or the connection dropped: learn the slots again, start again from WATCH.
        await resyncTransactionConnection(this.redis!).catch(() => {});
        const now = await cursor.read();
        if (now !== null && now >= taken.at(-1)!.seq) return;
        if (now === null || now < at) throw new RedisLost(`Redis has the cursor at ${now ?? 'nothing'}, behind ${at}: it lost what it had taken in`);
        throw err;
      }
    });
    this.position = taken.at(-1)?.seq ?? at;
    const prefix = this.deps.names.prefix;
    this.unsettled.push(...taken.map((t) => ({ seq: t.seq, record: t.job ? recordOf(t.job) : null })));
    const again = taken.filter((t) => t.seq <= this.retakeUpTo).length;
    if (again > 0) {
      this.deps.context.metrics.commandsRetaken(again);
      this.deps.context.logger.info({ consumer: this.partition.consumer, prefix, commands: again, upTo: taken.at(-1)!.seq }, 'commands taken in again after a Redis loss');
    }
  }

  private async parse(batch: InHand[], spans: IntakeSpans): Promise<TakenIn[]> {
    const { pipeline, names, context } = this.deps;
    const now = pipeline.clock().toISOString();
    const taken: TakenIn[] = [];
    for (const m of batch) {
      const parsed = parseStored(names.prefix, m, now, context.config.OPENSIM_MAX_PAYLOAD_BYTES);
      if (parsed.ok) {
        spans.annotate(m.seq, { 'opensim.command.kind': parsed.job.kind, 'opensim.request_id': messageIdOf(parsed.job), 'opensim.client_account_id': accountOf(parsed.job), 'opensim.intake.result': 'enqueued' });
        taken.push({ seq: m.seq, job: { ...parsed.job, seq: m.seq, ...spans.traceOf(m.seq) } });
        continue;
      }
      spans.annotate(m.seq, { 'opensim.command.kind': parsed.kind, 'opensim.intake.result': 'rejected', 'opensim.reason': 'INVALID_PAYLOAD' });
      // INVALID_PAYLOAD: the dead letter (with the `rejected` event) before the cursor passes it.
      const letterId = streamLetterId(names.commandStream, m.seq);
      // Under the message's span: the `rejected` event carries its trace.
      const letter = spans.within(m.seq, () => invalidPayloadLetter(names.prefix, letterId, m, parsed, 0, now));
      const deadLetters = pipeline.collections.deadLetters;
      if (await insertOnce(deadLetters, letter)) {
        context.metrics.requestDecided(parsed.kind, 'rejected', 'INVALID_PAYLOAD');
        context.metrics.deadLetterWritten('INVALID_PAYLOAD');
      }
      context.logger.info({ subject: m.subject, requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, reason: 'INVALID_PAYLOAD', problem: parsed.message }, 'command rejected');
      await spans.within(m.seq, () => pipeline.outbox.flushQuietly(deadLetters, letterId));
      taken.push({ seq: m.seq, job: null });
    }
    return taken;
  }

  /** A message that failed to be taken in too often: dead-lettered (or found in the pipeline after all), then passed. */
  private async giveUp(token: string, at: number, message: InHand, deliveries: number): Promise<number> {
    const { context, pipeline, names, jsm } = this.deps;
    const { config, logger, metrics } = context;
    const stored = await jsm.streams.getMessage(names.commandStream, { seq: message.seq }).catch(() => null);
    const deps = { prefix: names.prefix, maxPayloadBytes: config.OPENSIM_MAX_PAYLOAD_BYTES, collections: pipeline.collections, queues: pipeline.queues };
    const given = { stream: names.commandStream, seq: message.seq, deliveries, consumer: this.partition.consumer, stored };
    const verdict = await this.retried(() => givenUpVerdict(deps, given, pipeline.clock().toISOString()));
    if ('letter' in verdict) {
      const { letter } = verdict;
      if (await this.retried(() => insertOnce(pipeline.collections.deadLetters, letter))) {
        metrics.deadLetterWritten(letter.reason);
        metrics.requestDecided(commandKindOf(names.prefix, letter.subject) ?? 'plan-change', letter.reason === 'MAX_DELIVERIES' ? 'failed' : 'rejected', letter.reason);
      }
      logger.error({ deadLetter: letter._id, requestId: letter.requestId, deliveries, reason: letter.reason }, 'command given up on after repeated failures to take it in');
      await pipeline.outbox.flushQuietly(pipeline.collections.deadLetters, letter._id);
    } else logger.warn({ seq: message.seq, requestId: verdict.inPipeline }, 'command taken in repeatedly, and in the pipeline: passed');
    await this.commit(token, at, [{ seq: message.seq, job: null }]);
    this.passed([message]);
    return message.seq;
  }

  /** The message is in the pipeline: acknowledge it (a failpoint can crash the process just before). */
  private acknowledge(msg: JsMsg): void {
    failpoint('intake:after-enqueue', msg.headers?.get('Nats-Msg-Id') || undefined);
    msg.ack();
  }

  /** Keeps held messages ours while they wait for their turn or for Redis. */
  private keepHeld(): void {
    for (const msg of this.held.values()) {
      try {
        msg.working();
      } catch {
        // The connection is closing: the message will be redelivered.
      }
    }
  }

  /** Gives everything back at once: another process takes the partition in now. */
  private handBack(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.deps.context.logger.warn({ lease: this.lease.key, why, held: this.held.size }, 'intake partition lost its lease; handing back what it holds');
    for (const msg of this.held.values()) msg.nak();
    this.held.clear();
    void this.messages?.close().catch(() => {});
    this.wake?.();
  }

  /** Tries `step` again while a server is away, until it works, the lease is lost or the partition stops. */
  private async retried<T>(step: () => Promise<T>): Promise<T> {
    const { config, logger } = this.deps.context;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (err instanceof LeaseLost || err instanceof RedisLost || this.lost || (this.stopping && attempt > 3)) throw err;
        const wait = backoffMs({ attempts: Infinity, baseMs: config.OPENSIM_RETRY_BASE_MS, maxMs: Math.min(4000, config.OPENSIM_RETRY_MAX_MS) }, attempt);
        logger.warn({ err, attempt, retryInMs: wait, consumer: this.partition.consumer }, 'command not taken in yet; trying again');
        await this.pause(wait);
      }
    }
  }

  /** Waits for a delivery (the pump wakes it), at most `timeoutMs`. */
  private nextDelivery(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wake = done;
    });
  }

  /** Sleeps, cut short by a stop or a lost lease. */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && !this.lost && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  /**
   * Stops pulling and takes in the messages already received, in order, within the grace period,
   * then gives the lease up: handing them back instead would let the next holder's deliveries
   * overtake them (rolling restart, a partition moving to another process).
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake?.();
    await stopConsuming(`intake partition ${this.partition.consumer}`, this.deps.context.logger, this.deps.context.config.OPENSIM_SHUTDOWN_GRACE_MS, this.messages, this.loop);
  }
}

/** The durable consumer of a partition: never gives up on a message (the intake does, see takeInBatch). */
function consumerConfigOf(partition: IntakePartition, config: RoleContext['config']) {
  return {
    durable_name: partition.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [partition.filter],
    max_ack_pending: config.OPENSIM_INTAKE_MAX_IN_FLIGHT,
    ack_wait: config.OPENSIM_INTAKE_ACK_WAIT_MS * 1_000_000,
    // Never given up on by JetStream: the intake takes every message in, in order, or gives it up
    // itself after OPENSIM_INTAKE_MAX_DELIVER attempts. A message JetStream gave up on meanwhile
    // would be dead-lettered while the intake still takes it in.
    max_deliver: -1,
  };
}

export { consumerConfigOf };

function deliveredOf(msg: JsMsg): Delivered {
  return { seq: msg.seq, deliverySeq: msg.info.deliverySequence, first: msg.info.redeliveryCount === 1 };
}

/** Whether `msg` is the message right after `before` (at stream sequence `at`), by their deliveries. */
function adjacent(before: Delivered | undefined, msg: JsMsg, at: number): boolean {
  if (!before || before.seq !== at || !before.first) return false;
  const next = deliveredOf(msg);
  return next.first && next.deliverySeq === before.deliverySeq + 1;
}

function inHand(prefix: string, msg: JsMsg): InHand {
  return { seq: msg.seq, subject: publishedSubject(prefix, msg.subject), data: msg.data, headers: msg.headers, delivery: msg };
}

export type { Redis };

/** The decision record that will hold a job's outcome (store/documents.ts, requestKey). */
function recordOf(job: CommandJob): string {
  return requestKey(job.kind, messageIdOf(job));
}

/** A command message parsed as its subject's kind (the stream holds only command subjects: its subjects are the intake's filter). */
function parseStored(prefix: string, m: InHand, now: string, maxPayloadBytes: number): ReturnType<typeof parseCommand> {
  return parseCommand(commandKindOf(prefix, m.subject) ?? 'plan-change', m.subject, m.data, m.headers?.get('Nats-Msg-Id') || undefined, now, maxPayloadBytes);
}

/** A stored command as the checkpoint sees it: invalid ones had their dead letter written before the cursor passed it. */
function takenCommandOf(prefix: string, m: InHand, maxPayloadBytes: number): TakenCommand {
  const parsed = parseStored(prefix, m, new Date(0).toISOString(), maxPayloadBytes);
  return { seq: m.seq, record: parsed.ok ? recordOf(parsed.job) : null };
}
