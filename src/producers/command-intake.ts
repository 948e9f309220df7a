import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from 'nats';
import { planChangeRejected, resourceOrderRejected, type DomainEvent } from '../domain/index.js';
import type { Role, RoleContext } from '../app/system.js';
import { naming, type Naming } from '../messaging/subjects.js';
import { ensureStreams, isNotFound } from '../messaging/streams.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { Pipeline } from '../app/pipeline.js';
import { insertOnce } from '../store/insert-once.js';
import { parseCommand, type ParsedCommand } from './parse-command.js';

export const COMMAND_CONSUMER = 'command-intake';

/** Inbound payloads over this size are refused as INVALID_PAYLOAD without being parsed. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * NATS → BullMQ. Parses and validates each command, enqueues it under a job id derived from
 * its request id, and acks only once Redis has it. Messages are handled one after the other,
 * in stream order, so arrival order reaches the partitions; at most `maxInFlight` are pulled
 * ahead (a burst waits in the stream, not in memory or Redis).
 */
export class CommandIntake implements Role {
  readonly name = 'command-intake';
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private names!: Naming;
  private context!: RoleContext;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    context.readiness.registerConsumer(this.name, () => this.consuming);
    this.loop = this.runUntilStopped();
  }

  private stopped = false;
  private consuming = false;

  /** Consumes; if the stream or consumer cannot be set up (NATS away), tries again. */
  private async runUntilStopped(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.run();
      } catch (err) {
        this.context.logger.error({ err }, 'command intake interrupted; restarting in 1 s');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async run(): Promise<void> {
    const { connections, config, logger } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names);
    try {
      await jsm.consumers.info(this.names.commandStream, COMMAND_CONSUMER);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(this.names.commandStream, {
        durable_name: COMMAND_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subjects: [this.names.planChangeCommands, this.names.resourceOrderCommands],
        max_ack_pending: config.OPENSIM_INTAKE_MAX_IN_FLIGHT,
        ack_wait: 30_000_000_000,
      });
    }
    const consumer = await nc.jetstream().consumers.get(this.names.commandStream, COMMAND_CONSUMER);
    this.messages = await consumer.consume({ max_messages: config.OPENSIM_INTAKE_MAX_IN_FLIGHT });
    logger.info({ stream: this.names.commandStream, consumer: COMMAND_CONSUMER }, 'command intake consuming');
    this.consuming = true;
    try {
      await this.consume(this.messages);
    } finally {
      this.consuming = false;
    }
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    const { logger } = this.context;
    for await (const msg of messages) {
      await this.handle(msg).catch((err) => {
        // Redis or MongoDB unreachable: the message comes back later, nothing is lost.
        logger.warn({ err, subject: msg.subject, seq: msg.seq }, 'command not taken in yet; redelivering');
        msg.nak(1000);
      });
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const kind = msg.subject.startsWith(`${this.names.prefix}.cmd.plan-change.`) ? 'plan-change' : 'resource-order';
    const parsed = parseCommand(kind, msg.subject, msg.data, msg.headers?.get('Nats-Msg-Id') || undefined, new Date().toISOString(), MAX_PAYLOAD_BYTES);
    if (!parsed.ok) {
      await this.rejectInvalid(msg, parsed);
      msg.term();
      return;
    }
    await this.pipeline.queues.enqueue(parsed.job);
    msg.ack();
  }

  /** INVALID_PAYLOAD: a dead letter with the original bytes, and the `rejected` event in its outbox. */
  private async rejectInvalid(msg: JsMsg, parsed: Extract<ParsedCommand, { ok: false }>): Promise<void> {
    const { logger } = this.context;
    const now = new Date().toISOString();
    // The stream sequence names this message for good: a redelivery finds the same dead letter and event.
    const letterId = `${this.names.commandStream}:${msg.seq}`;
    const event: DomainEvent =
      parsed.kind === 'plan-change'
        ? planChangeRejected({ requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, lineId: parsed.lineId, reason: 'INVALID_PAYLOAD', message: parsed.message }, `invalid-${letterId}`)
        : resourceOrderRejected({ orderId: parsed.messageId, clientAccountId: parsed.clientAccountId, resourceId: null, reason: 'INVALID_PAYLOAD', message: parsed.message }, `invalid-${letterId}`);
    const deadLetters = this.pipeline.collections.deadLetters;
    await insertOnce(deadLetters, {
        _id: letterId,
        kind: parsed.kind,
        subject: msg.subject,
        payload: Buffer.from(msg.data).toString('utf8'),
        headers: Object.fromEntries([...(msg.headers?.keys() ?? [])].map((k) => [k, msg.headers!.get(k)])),
        requestId: parsed.messageId,
        clientAccountId: parsed.clientAccountId,
        reason: 'INVALID_PAYLOAD',
        attempts: 0,
        firstError: parsed.message,
        lastError: parsed.message,
        firstAt: now,
        lastAt: now,
        outbox: [toOutboxEntry(this.names.prefix, event, now)],
      });
    logger.info({ subject: msg.subject, requestId: parsed.messageId, clientAccountId: parsed.clientAccountId, reason: 'INVALID_PAYLOAD', problem: parsed.message }, 'command rejected');
    await this.pipeline.outbox.flushQuietly(deadLetters, letterId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    await this.loop?.catch(() => {});
  }
}
