import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamManager, type JsMsg } from 'nats';
import type { Redis } from 'ioredis';
import type { Role, RoleContext } from '../platform/role.js';
import type { Pipeline } from '../platform/pipeline.js';
import { COMMAND_CONSUMER, commandKindOf, naming, type Naming } from '../messaging/subjects.js';
import { ensureStreams } from '../messaging/streams.js';
import { isNoMessage } from '../messaging/jetstream-errors.js';
import { ackWaitMs, consumeUntilStopped, ensureDurableConsumer, stopConsuming } from '../messaging/durable-consumer.js';
import { insertOnce } from '../store/insert-once.js';
import { failpoint } from '../runtime/failpoints.js';
import { messageIdOf } from '../queues/command-queues.js';
import { backoffMs } from '../runtime/retry.js';
import { givenUpVerdict } from './given-up.js';
import { IntakeCursor, intakeKeys, type TakenIn } from './intake-cursor.js';
import { commandJobsInFlight, commandQueueIndexes, partitioningKey, partitioningOf } from '../queues/partitioning.js';
import { IntakeLease } from './intake-lease.js';
import { invalidPayloadLetter, streamLetterId, type RawMessage } from './invalid-payload.js';
import { parseCommand } from './parse-command.js';

export { COMMAND_CONSUMER };

/** Messages taken in together, in one Redis transaction, at most. */
const BATCH = 64;

/** A command message in hand: delivered by the consumer, or read from the stream by its sequence. */
interface InHand extends RawMessage {
  seq: number;
  delivery?: JsMsg;
}

/** The fence refused this process's commit: another process holds the intake now. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/**
 * NATS → BullMQ, in stream order, by one process at a time (the one holding the intake lease;
 * the others stand by). Each command is parsed, validated and enqueued under a job id derived
 * from its request id; messages are acknowledged only once Redis has their jobs.
 *
 * Order does not rest on delivery timing. A cursor in Redis says up to which stream sequence
 * commands are taken in, and moves with the jobs, in one transaction fenced by the lease
 * (intake-cursor.ts). The holder takes the message after the cursor next, whoever JetStream
 * delivered it to: if another process holds it unacknowledged (it stalled, or died), the holder
 * reads it from the stream by its sequence. A redelivery of what is already taken in is simply
 * acknowledged. So no command overtakes an earlier one, however deliveries, redeliveries and
 * handovers interleave, and a process that wakes after losing its lease adds nothing.
 */
export class CommandIntake implements Role {
  readonly name = 'command-intake';
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private names!: Naming;
  private context!: RoleContext;
  private lease!: IntakeLease;
  private redis!: Redis;
  private cursor!: IntakeCursor;
  private stopped = false;
  private consuming = false;
  private standingBy = false;
  private draining = false;
  /** The lease was lost during this holding: hand everything back. */
  private lost = false;
  /** Delivered messages not taken in yet, by stream sequence. */
  private readonly held = new Map<number, JsMsg>();
  /** Sequences whose attempt this holding has counted (poison messages, see takeIn). */
  private readonly counted = new Set<number>();
  private wake: (() => void) | undefined;
  private ackWaitMs = 0;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    const { config } = context;
    this.names = naming(config.OPENSIM_SUBJECT_PREFIX);
    const keys = intakeKeys(this.names.prefix);
    this.lease = new IntakeLease(context.connections.redis, keys.lease, config.OPENSIM_INTAKE_LEASE_MS);
    // The fenced transaction's own connection: WATCH state belongs to a connection. It fails fast
    // rather than queueing or resending across a reconnect, which would run EXEC without its WATCH.
    this.redis = context.connections.redis.duplicate({ enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    this.redis.on('error', (err) => context.logger.debug({ err, service: 'redis' }, 'intake connection error'));
    this.cursor = new IntakeCursor(this.redis, keys, this.names.prefix, config.OPENSIM_PARTITIONS);
    this.ackWaitMs = config.OPENSIM_INTAKE_ACK_WAIT_MS;
    // Standing by while another process holds the lease is a healthy state.
    // Waiting for the queues of an old partitioning to drain is healthy too.
    context.readiness.registerConsumer(this.name, () => this.consuming || this.standingBy || this.draining);
    this.loop = consumeUntilStopped('command intake', context.logger, () => this.stopped, () => this.run());
  }

  private async run(): Promise<void> {
    const { connections, config, logger } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names);
    const consumerConfig = await ensureDurableConsumer(
      jsm,
      this.names.commandStream,
      {
        durable_name: COMMAND_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subjects: this.names.commandSubjects,
        max_ack_pending: config.OPENSIM_INTAKE_MAX_IN_FLIGHT,
        ack_wait: config.OPENSIM_INTAKE_ACK_WAIT_MS * 1_000_000,
        // Never given up on by JetStream: the intake takes every message in, in order, or gives
        // it up itself after OPENSIM_INTAKE_MAX_DELIVER attempts (takeInBatch). A message JetStream
        // gave up on meanwhile would be dead-lettered while the intake still takes it in.
        max_deliver: -1,
      },
      logger,
    );
    // Heartbeats follow the consumer as JetStream holds it, not this process's configuration.
    this.ackWaitMs = ackWaitMs(consumerConfig);
    if (!(await this.takeLease())) return;
    this.lost = false;
    this.counted.clear();
    const token = this.lease.token;
    const heartbeat = setInterval(() => this.keepHeld(), Math.max(250, Math.floor(this.ackWaitMs / 3)));
    this.lease.keep(() => this.handBack('its lease renewal found another holder'));
    try {
      if (!(await this.switchPartitioning(token))) throw new LeaseLost();
      const at = await this.startingCursor(jsm, token);
      if (at === null) throw new LeaseLost();
      const consumer = await nc.jetstream().consumers.get(this.names.commandStream, COMMAND_CONSUMER);
      // A pull request stays open on the server while its process is frozen, and whatever is
      // delivered to it waits for the ack wait: short-lived pulls bound how much a stalled holder hogs.
      const messages = await consumer.consume({ max_messages: config.OPENSIM_INTAKE_MAX_IN_FLIGHT, expires: Math.min(30_000, Math.max(1_000, config.OPENSIM_INTAKE_LEASE_MS)) });
      this.messages = messages;
      logger.info({ stream: this.names.commandStream, consumer: COMMAND_CONSUMER, cursor: at }, 'command intake consuming');
      this.consuming = true;
      const pumped = this.pump(messages);
      await this.takeIn(jsm, token, at);
      await messages.close().catch(() => {});
      await pumped;
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      this.handBack('the fence refused its enqueue');
    } finally {
      clearInterval(heartbeat);
      this.consuming = false;
      for (const msg of this.held.values()) msg.nak();
      this.held.clear();
      await this.lease.release().catch(() => {});
    }
  }

  /** Waits for the lease, standing by while another process holds it. */
  private async takeLease(): Promise<boolean> {
    const { config, logger } = this.context;
    const poll = Math.min(1000, Math.floor(config.OPENSIM_INTAKE_LEASE_MS / 4));
    while (!this.stopped) {
      if (await this.lease.tryAcquire()) {
        this.standingBy = false;
        return true;
      }
      if (!this.standingBy) logger.info({ lease: this.lease.key }, 'command intake standing by: another process takes commands in');
      this.standingBy = true;
      await this.pause(poll);
    }
    this.standingBy = false;
    return false;
  }

  /**
   * Enqueues with the configured mapping of commands to partitions only once no job of another
   * mapping waits or runs (producers/partitioning.ts): until then it takes nothing in.
   */
  private async switchPartitioning(token: string): Promise<boolean> {
    const { config, connections, logger } = this.context;
    const key = partitioningKey(this.names.prefix);
    const wanted = partitioningOf(config.OPENSIM_PARTITIONS);
    const recorded = await this.redis.get(key);
    if (recorded === wanted) return true;
    const from = recorded ?? 'by service (an earlier version)';
    try {
      for (let logged = false; ; logged = true) {
        const indexes = await commandQueueIndexes(connections.redis, this.names.prefix, config.OPENSIM_PARTITIONS);
        const inFlight = await commandJobsInFlight(connections.redis, this.names.prefix, indexes);
        if (inFlight === 0) break;
        if (!logged) logger.warn({ from, to: wanted, inFlight }, 'command partitioning changes: taking nothing in until the queues of the old mapping have drained');
        this.draining = true;
        await this.pause(250);
        if (this.stopped || this.lost) return false;
      }
    } finally {
      this.draining = false;
    }
    if ((await this.cursor.setFenced(token, key, wanted)) === 'lease-lost') return false;
    logger.info({ from, to: wanted }, 'command partitioning switched');
    return true;
  }

  /**
   * Where taking in resumes. A first start (or a Redis that lost the cursor) begins after the
   * consumer's ack floor: everything at or below it was acknowledged, hence enqueued.
   */
  private async startingCursor(jsm: JetStreamManager, token: string): Promise<number | null> {
    const at = await this.cursor.read();
    if (at !== null) return at;
    const floor = (await jsm.consumers.info(this.names.commandStream, COMMAND_CONSUMER)).ack_floor.stream_seq;
    if ((await this.cursor.initialise(token, floor)) === 'lease-lost') return null;
    return this.cursor.read();
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

  private async takeIn(jsm: JetStreamManager, token: string, from: number): Promise<void> {
    const poll = Math.min(1000, Math.max(50, Math.floor(this.context.config.OPENSIM_INTAKE_LEASE_MS / 4)));
    let at = from;
    let quietSince = Date.now();
    while (!this.lost) {
      // Already taken in: a redelivery of what a stalled holder left, or of what was read from the stream.
      for (const [seq, msg] of this.held) {
        if (seq > at) continue;
        this.acknowledge(msg);
        this.held.delete(seq);
      }
      let batch = this.deliveredRun(at + 1);
      if (batch.length === 0) {
        if (this.stopped && this.held.size === 0) return;
        // The next one is not in hand. If later ones are, or the stream has more than was taken in
        // and nothing came for a while, another holder has it (stalled, or dead): read it.
        const behind = this.held.size > 0 || (Date.now() - quietSince >= poll && (await this.lastSeq(jsm)) > at);
        if (!behind) {
          if (this.stopped) return;
          await this.nextDelivery(poll);
          continue;
        }
        const read = await this.readFromStream(jsm, at + 1);
        if (read === 'gone') {
          at = await this.skipGone(jsm, token, at);
          continue;
        }
        batch = [read];
      }
      at = await this.takeInBatch(jsm, token, at, batch);
      quietSince = Date.now();
    }
  }

  /** The delivered messages from `seq` on, consecutive, at most a batch. */
  private deliveredRun(seq: number): InHand[] {
    const run: InHand[] = [];
    for (let s = seq; run.length < BATCH; s++) {
      const msg = this.held.get(s);
      if (!msg) break;
      run.push({ seq: s, subject: msg.subject, data: msg.data, headers: msg.headers, delivery: msg });
    }
    return run;
  }

  /**
   * Takes a batch in: parse, refuse what is invalid, then one fenced commit of the jobs and the
   * cursor; acknowledges the deliveries once Redis holds them. A message that crashed the process
   * while being taken in is counted: it is then taken in alone, and past the delivery cap it is
   * given up on (dead-lettered), so one bad message cannot stop the intake for good.
   */
  private async takeInBatch(jsm: JetStreamManager, token: string, at: number, batch: InHand[]): Promise<number> {
    const { config } = this.context;
    const first = batch[0]!;
    if (!this.counted.has(first.seq)) {
      this.counted.add(first.seq);
      const attempts = await this.cursor.countAttempt(first.seq);
      if (attempts > 1) batch = [first];
      if (attempts > config.OPENSIM_INTAKE_MAX_DELIVER) return this.giveUp(jsm, token, at, first, attempts - 1);
    }
    const taken = await this.retried(() => this.parse(batch));
    for (const t of taken) if (t.job) failpoint('intake:before-enqueue', messageIdOf(t.job));
    await this.commit(token, at, taken);
    for (const m of batch) {
      if (!m.delivery) continue;
      this.acknowledge(m.delivery);
      this.held.delete(m.seq);
    }
    return at + batch.length;
  }

  /** The fenced commit, tried again while Redis is away; a commit whose reply was lost is found by the cursor. */
  private async commit(token: string, at: number, taken: TakenIn[]): Promise<void> {
    await this.retried(async () => {
      try {
        if ((await this.cursor.commit(token, at, taken)) === 'lease-lost') throw new LeaseLost();
      } catch (err) {
        if (err instanceof LeaseLost) throw err;
        const now = await this.cursor.read();
        if (now !== null && now >= at + taken.length) return;
        throw err;
      }
    });
  }

  private async parse(batch: InHand[]): Promise<TakenIn[]> {
    const now = this.pipeline.clock().toISOString();
    const taken: TakenIn[] = [];
    for (const m of batch) {
      // The stream holds only command subjects (its subjects are the intake's filter).
      const kind = commandKindOf(this.names.prefix, m.subject) ?? 'plan-change';
      const parsed = parseCommand(kind, m.subject, m.data, m.headers?.get('Nats-Msg-Id') || undefined, now, this.context.config.OPENSIM_MAX_PAYLOAD_BYTES);
      if (parsed.ok) {
        taken.push({ seq: m.seq, job: { ...parsed.job, seq: m.seq } });
        continue;
      }
      // INVALID_PAYLOAD: the dead letter (with the `rejected` event) before the cursor passes it.
      const letterId = streamLetterId(this.names.commandStream, m.seq);
      const letter = invalidPayloadLetter(this.names.prefix, letterId, m, parsed, 0, now);
      const deadLetters = this.pipeline.collections.deadLetters;
      if (await insertOnce(deadLetters, letter)) {
        this.context.metrics.requestDecided(parsed.kind, 'rejected', 'INVALID_PAYLOAD');
        this.context.metrics.deadLetterWritten('INVALID_PAYLOAD');
      }
      this.context.logger.info({ subject: m.subject, requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, reason: 'INVALID_PAYLOAD', problem: parsed.message }, 'command rejected');
      await this.pipeline.outbox.flushQuietly(deadLetters, letterId);
      taken.push({ seq: m.seq, job: null });
    }
    return taken;
  }

  /** A message that failed to be taken in too often: dead-lettered (or found in the pipeline after all), then passed. */
  private async giveUp(jsm: JetStreamManager, token: string, at: number, message: InHand, deliveries: number): Promise<number> {
    const { config, logger, metrics } = this.context;
    const stored = await jsm.streams.getMessage(this.names.commandStream, { seq: message.seq }).catch(() => null);
    const deps = { prefix: this.names.prefix, maxPayloadBytes: config.OPENSIM_MAX_PAYLOAD_BYTES, collections: this.pipeline.collections, queues: this.pipeline.queues };
    const verdict = await this.retried(() => givenUpVerdict(deps, { stream: this.names.commandStream, seq: message.seq, deliveries, consumer: COMMAND_CONSUMER, stored }, this.pipeline.clock().toISOString()));
    if ('letter' in verdict) {
      const { letter } = verdict;
      if (await this.retried(() => insertOnce(this.pipeline.collections.deadLetters, letter))) {
        metrics.deadLetterWritten(letter.reason);
        metrics.requestDecided(commandKindOf(this.names.prefix, letter.subject) ?? 'plan-change', letter.reason === 'MAX_DELIVERIES' ? 'failed' : 'rejected', letter.reason);
      }
      logger.error({ deadLetter: letter._id, requestId: letter.requestId, deliveries, reason: letter.reason }, 'command given up on after repeated failures to take it in');
      await this.pipeline.outbox.flushQuietly(this.pipeline.collections.deadLetters, letter._id);
    } else logger.warn({ seq: message.seq, requestId: verdict.inPipeline }, 'command taken in repeatedly, and in the pipeline: passed');
    await this.commit(token, at, [{ seq: message.seq, job: null }]);
    if (message.delivery) {
      this.acknowledge(message.delivery);
      this.held.delete(message.seq);
    }
    return at + 1;
  }

  /** Skips sequences no longer in the stream (its limits removed them, or an operator did). */
  private async skipGone(jsm: JetStreamManager, token: string, at: number): Promise<number> {
    const first = (await jsm.streams.info(this.names.commandStream)).state.first_seq;
    const to = Math.max(at + 1, first - 1);
    this.context.logger.warn({ from: at + 1, to }, 'commands no longer in the stream: passed');
    await this.commit(token, at, Array.from({ length: Math.min(to - at, BATCH) }, (_, k) => ({ seq: at + 1 + k, job: null })));
    return at + Math.min(to - at, BATCH);
  }

  private async readFromStream(jsm: JetStreamManager, seq: number): Promise<InHand | 'gone'> {
    try {
      const stored = await jsm.streams.getMessage(this.names.commandStream, { seq });
      this.context.logger.info({ seq, subject: stored.subject }, 'command read from the stream: another holder has it, or it is not delivered yet');
      return { seq, subject: stored.subject, data: stored.data, headers: stored.header };
    } catch (err) {
      if (isNoMessage(err)) return 'gone';
      throw err;
    }
  }

  private async lastSeq(jsm: JetStreamManager): Promise<number> {
    return (await jsm.streams.info(this.names.commandStream)).state.last_seq;
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

  /** Gives everything back at once: another process takes commands in now. */
  private handBack(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.context.logger.warn({ lease: this.lease.key, why, held: this.held.size }, 'command intake lost its lease; handing back what it holds');
    for (const msg of this.held.values()) msg.nak();
    this.held.clear();
    void this.messages?.close().catch(() => {});
    this.wake?.();
  }

  /** Tries `step` again while a server is away, until it works, the lease is lost or the process stops. */
  private async retried<T>(step: () => Promise<T>): Promise<T> {
    const { config, logger } = this.context;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (err instanceof LeaseLost || this.lost || (this.stopped && attempt > 3)) throw err;
        const wait = backoffMs({ attempts: Infinity, baseMs: config.OPENSIM_RETRY_BASE_MS, maxMs: Math.min(4000, config.OPENSIM_RETRY_MAX_MS) }, attempt);
        logger.warn({ err, attempt, retryInMs: wait }, 'command not taken in yet; trying again');
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

  /** Sleeps, cut short by stop(). */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && !this.lost && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  /**
   * Stops pulling and takes in the messages already received, in order, within the grace period:
   * handing them back instead would let a process still consuming overtake them (rolling restart).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await stopConsuming('command intake', this.context.logger, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS, this.messages, this.loop);
    await this.cursor.close();
    this.redis.disconnect();
  }
}
