import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamManager, type JsMsg } from 'nats';
import type { Role, RoleContext } from '../app/system.js';
import { naming, type Naming } from '../messaging/subjects.js';
import { ensureStreams } from '../messaging/streams.js';
import type { Pipeline } from '../app/pipeline.js';
import { insertOnce } from '../store/insert-once.js';
import { failpoint } from '../workers/failpoints.js';
import { parseCommand, type ParsedCommand } from './parse-command.js';
import { invalidPayloadLetter, streamLetterId } from './invalid-payload.js';
import { consumeUntilStopped, ensureDurableConsumer, stopConsuming } from '../messaging/durable-consumer.js';
import { IntakeLease, intakeLeaseKey } from './intake-lease.js';
import { messageIdOf } from '../workers/command-queues.js';

export const COMMAND_CONSUMER = 'command-intake';

/** Inbound payloads over this size are refused as INVALID_PAYLOAD without being parsed (default of OPENSIM_MAX_PAYLOAD_BYTES). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Longest pause before a message that could not be taken in comes back. */
const MAX_NAK_DELAY_MS = 30_000;

/** Tries of one message in place (Redis or MongoDB slow) before handing it back to the stream. */
const ATTEMPTS_IN_PLACE = 5;

/**
 * NATS → BullMQ. Parses and validates each command, enqueues it under a job id derived from
 * its request id, and acks only once Redis has it. Messages are handled one after the other,
 * in stream order, by one process at a time (the one holding the intake lease; others stand
 * by), so arrival order reaches the partitions; at most `maxInFlight` are pulled ahead (a burst
 * waits in the stream, not in memory or Redis).
 */
export class CommandIntake implements Role {
  readonly name = 'command-intake';
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private names!: Naming;
  private context!: RoleContext;
  private lease!: IntakeLease;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    this.lease = new IntakeLease(context.connections.redis, intakeLeaseKey(this.names.prefix), context.config.OPENSIM_INTAKE_LEASE_MS);
    // Standing by while another process holds the lease is a healthy state.
    context.readiness.registerConsumer(this.name, () => this.consuming || this.standingBy);
    this.loop = this.runUntilStopped();
  }

  private stopped = false;
  private consuming = false;
  private standingBy = false;

  /** Consumes; if the stream or consumer cannot be set up (NATS away), tries again. */
  private runUntilStopped(): Promise<void> {
    return consumeUntilStopped('command intake', this.context.logger, () => this.stopped, () => this.run());
  }

  private async run(): Promise<void> {
    const { connections, config, logger } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names);
    await ensureDurableConsumer(jsm, this.names.commandStream, {
      durable_name: COMMAND_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subjects: [this.names.planChangeCommands, this.names.resourceOrderCommands],
      max_ack_pending: config.OPENSIM_INTAKE_MAX_IN_FLIGHT,
      ack_wait: config.OPENSIM_INTAKE_ACK_WAIT_MS * 1_000_000,
      // Past this, JetStream gives up on the message and says so in an advisory: the
      // dead-letter collector (relay/max-deliveries.ts) stores it with the others.
      max_deliver: config.OPENSIM_INTAKE_MAX_DELIVER,
    });
    if (!(await this.takeLease(jsm))) return;
    try {
      const consumer = await nc.jetstream().consumers.get(this.names.commandStream, COMMAND_CONSUMER);
      const messages = await consumer.consume({ max_messages: config.OPENSIM_INTAKE_MAX_IN_FLIGHT });
      this.messages = messages;
      this.lease.keep(() => {
        logger.warn({ lease: this.lease.key }, 'command intake lost its lease; handing back what it holds');
        void messages.close();
      });
      logger.info({ stream: this.names.commandStream, consumer: COMMAND_CONSUMER }, 'command intake consuming');
      this.consuming = true;
      await this.consume(messages);
    } finally {
      this.consuming = false;
      await this.lease.release().catch(() => {});
    }
  }

  /**
   * Waits for the lease (standing by while another process holds it). Messages a previous
   * holder had pulled and not acknowledged (it died, or its grace ran out) come back after the
   * ack wait, and JetStream delivers redeliveries first: waiting for them keeps stream order.
   */
  private async takeLease(jsm: JetStreamManager): Promise<boolean> {
    const { config, logger } = this.context;
    const poll = Math.min(1000, Math.floor(config.OPENSIM_INTAKE_LEASE_MS / 4));
    while (!this.stopped) {
      if (await this.lease.tryAcquire()) {
        this.lease.keep(() => {});
        try {
          const held = (await jsm.consumers.info(this.names.commandStream, COMMAND_CONSUMER)).num_ack_pending;
          if (held > 0) {
            logger.info({ held, waitMs: config.OPENSIM_INTAKE_ACK_WAIT_MS }, 'command intake waiting for the messages a previous intake held');
            await this.pause(config.OPENSIM_INTAKE_ACK_WAIT_MS + 500);
          }
        } catch (err) {
          await this.lease.release().catch(() => {});
          throw err;
        }
        this.standingBy = false;
        if (this.lease.valid() && !this.stopped) return true;
        await this.lease.release().catch(() => {});
        continue;
      }
      if (!this.standingBy) logger.info({ lease: this.lease.key }, 'command intake standing by: another process takes commands in');
      this.standingBy = true;
      await this.pause(poll);
    }
    this.standingBy = false;
    return false;
  }

  /** Sleeps, cut short by stop(). */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    const { logger } = this.context;
    for await (const msg of messages) {
      // The lease ran out (this process stalled, or lost Redis): another may hold it now.
      if (!this.lease.valid()) {
        msg.nak();
        continue;
      }
      // While Redis or MongoDB is slow, keep the message ours rather than let ack_wait redeliver it.
      const heartbeat = setInterval(() => {
        try {
          msg.working();
        } catch {
          // The connection is closing (shutdown): the message will be redelivered.
        }
      }, Math.max(250, Math.floor(this.context.config.OPENSIM_INTAKE_ACK_WAIT_MS / 3)));
      try {
        await this.handleInPlace(msg);
      } catch (err) {
        // Redis or MongoDB unreachable for a while: the message comes back later, nothing is lost.
        const delay = Math.min(MAX_NAK_DELAY_MS, 1000 * 2 ** Math.max(0, msg.info.redeliveryCount - 1));
        logger.warn({ err, subject: msg.subject, seq: msg.seq, deliveries: msg.info.redeliveryCount, retryInMs: delay }, 'command not taken in yet; redelivering');
        msg.nak(delay);
      } finally {
        clearInterval(heartbeat);
      }
    }
  }

  /**
   * A message that cannot be taken in yet is tried again here, a few times, before it is handed
   * back: handing it back at once would let the messages behind it overtake it.
   */
  private async handleInPlace(msg: JsMsg): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.handle(msg);
        return;
      } catch (err) {
        if (attempt >= ATTEMPTS_IN_PLACE || this.stopped || !this.lease.valid()) throw err;
        this.context.logger.debug({ err, seq: msg.seq, attempt }, 'command not taken in yet; trying again');
        await this.pause(Math.min(4000, 250 * 2 ** (attempt - 1)));
      }
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const kind = msg.subject.startsWith(`${this.names.prefix}.cmd.plan-change.`) ? 'plan-change' : 'resource-order';
    const parsed = parseCommand(kind, msg.subject, msg.data, msg.headers?.get('Nats-Msg-Id') || undefined, new Date().toISOString(), this.context.config.OPENSIM_MAX_PAYLOAD_BYTES);
    if (!parsed.ok) {
      await this.rejectInvalid(msg, parsed);
      msg.term();
      return;
    }
    failpoint('intake:before-enqueue', messageIdOf(parsed.job));
    await this.pipeline.queues.enqueue(parsed.job, String(msg.seq));
    failpoint('intake:after-enqueue', messageIdOf(parsed.job));
    msg.ack();
  }

  /** INVALID_PAYLOAD: a dead letter with the original bytes, and the `rejected` event in its outbox. */
  private async rejectInvalid(msg: JsMsg, parsed: Extract<ParsedCommand, { ok: false }>): Promise<void> {
    const { logger, metrics } = this.context;
    const letterId = streamLetterId(this.names.commandStream, msg.seq);
    const letter = invalidPayloadLetter(this.names.prefix, letterId, { subject: msg.subject, data: msg.data, headers: msg.headers }, parsed, 0, new Date().toISOString());
    const deadLetters = this.pipeline.collections.deadLetters;
    if (await insertOnce(deadLetters, letter)) {
      metrics.requestDecided(parsed.kind, 'rejected', 'INVALID_PAYLOAD');
      metrics.deadLetterWritten('INVALID_PAYLOAD');
    }
    logger.info({ subject: msg.subject, requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, reason: 'INVALID_PAYLOAD', problem: parsed.message }, 'command rejected');
    await this.pipeline.outbox.flushQuietly(deadLetters, letterId);
  }

  /**
   * Stops pulling and takes in the messages already received, in order, within the grace period:
   * handing them back instead would let a process still consuming overtake them (rolling restart).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await stopConsuming('command intake', this.context.logger, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS, this.messages, this.loop);
  }
}
