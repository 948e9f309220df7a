import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg, type JetStreamManager } from 'nats';
import type { Pipeline } from '../app/pipeline.js';
import type { Role, RoleContext } from '../app/system.js';
import { ensureStreams, isNotFound } from '../messaging/streams.js';
import { naming, type Naming } from '../messaging/subjects.js';
import { headersOf, invalidPayloadLetter, streamLetterId } from '../producers/invalid-payload.js';
import { parseCommand } from '../producers/parse-command.js';
import { insertOnce } from '../store/insert-once.js';
import { requestKey, type DeadLetterDocument } from '../store/documents.js';
import { findDecision } from '../store/plan-change-store.js';
import { commandJobId, messageIdOf, type CommandJob } from '../workers/command-queues.js';
import { failedOutcome } from '../workers/failed-outcome.js';
import { consumeUntilStopped, ensureDurableConsumer, stopConsuming } from '../messaging/durable-consumer.js';

export const ADVISORY_CONSUMER = 'dead-letter-collector';

/** What JetStream says when a consumer gives up on a message (io.nats.jetstream.advisory.v1.max_deliver). */
interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
  timestamp?: string;
}

/**
 * Dead-letters the inbound messages JetStream gave up on (max_deliver reached: e.g. a
 * message that crashed the intake each time it was handled). The advisory names the
 * message by stream sequence; the message is fetched from the command stream and stored
 * with the other dead letters: MAX_DELIVERIES with a `plan-change.failed` outcome, or
 * INVALID_PAYLOAD if it never was a valid command. A message that reached BullMQ or was
 * decided after all (its ack was what got lost) is left alone.
 */
export class MaxDeliveriesCollector implements Role {
  readonly name = 'max-deliveries-collector';
  private context!: RoleContext;
  private names!: Naming;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private consuming = false;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    context.readiness.registerConsumer(this.name, () => this.consuming);
    this.loop = this.runUntilStopped();
  }

  private runUntilStopped(): Promise<void> {
    return consumeUntilStopped('dead-letter collector', this.context.logger, () => this.stopped, () => this.run());
  }

  private async run(): Promise<void> {
    const nc = await this.context.connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names);
    await ensureDurableConsumer(jsm, this.names.advisoryStream, { durable_name: ADVISORY_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 60_000_000_000 });
    if (this.stopped) return;
    const consumer = await nc.jetstream().consumers.get(this.names.advisoryStream, ADVISORY_CONSUMER);
    this.messages = await consumer.consume({ max_messages: 16 });
    this.consuming = true;
    try {
      for await (const msg of this.messages) {
        await this.handle(jsm, msg).catch((err) => {
          this.context.logger.warn({ err, advisorySeq: msg.seq }, 'max-deliveries advisory not handled yet; retrying');
          msg.nak(2000);
        });
      }
    } finally {
      this.consuming = false;
    }
  }

  private async handle(jsm: JetStreamManager, msg: JsMsg): Promise<void> {
    const advisory = msg.json<MaxDeliveriesAdvisory>();
    const letter = await this.letterFor(jsm, advisory);
    if (letter && (await insertOnce(this.pipeline.collections.deadLetters, letter))) {
      this.context.metrics.deadLetterWritten(letter.reason);
      if (letter.reason === 'MAX_DELIVERIES') this.context.metrics.requestDecided(letter.kind === 'resource-order' ? 'resource-order' : 'plan-change', 'failed', 'MAX_DELIVERIES');
      else this.context.metrics.requestDecided(letter.kind === 'resource-order' ? 'resource-order' : 'plan-change', 'rejected', letter.reason);
      this.context.logger.error({ deadLetter: letter._id, requestId: letter.requestId, clientAccountId: letter.clientAccountId, deliveries: advisory.deliveries, reason: letter.reason }, 'inbound message dead-lettered after max deliveries');
    }
    if (letter) await this.pipeline.outbox.flushQuietly(this.pipeline.collections.deadLetters, letter._id);
    msg.ack();
  }

  private async letterFor(jsm: JetStreamManager, advisory: MaxDeliveriesAdvisory): Promise<DeadLetterDocument | undefined> {
    const now = new Date().toISOString();
    const letterId = streamLetterId(advisory.stream, advisory.stream_seq);
    const error = `JetStream gave up after ${advisory.deliveries} deliveries to consumer '${advisory.consumer}'`;
    let stored;
    try {
      stored = await jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Removed from the stream meanwhile (limits, an operator): keep what the advisory says.
      return { _id: letterId, kind: 'plan-change', subject: '', payload: '', headers: {}, requestId: null, clientAccountId: null, reason: 'MAX_DELIVERIES', attempts: advisory.deliveries, firstError: `${error}; the message is no longer in ${advisory.stream}`, lastError: error, firstAt: now, lastAt: now, outbox: [] };
    }
    const raw = { subject: stored.subject, data: stored.data, headers: stored.header };
    const kind = stored.subject.startsWith(`${this.names.prefix}.cmd.plan-change.`) ? 'plan-change' : 'resource-order';
    const parsed = parseCommand(kind, stored.subject, stored.data, stored.header?.get('Nats-Msg-Id') || undefined, now, this.context.config.OPENSIM_MAX_PAYLOAD_BYTES);
    if (!parsed.ok) return invalidPayloadLetter(this.names.prefix, letterId, raw, parsed, advisory.deliveries, now);
    if (await this.reachedThePipeline(parsed.job)) {
      this.context.logger.warn({ stream: advisory.stream, seq: advisory.stream_seq, requestId: messageIdOf(parsed.job) }, 'max deliveries reached, but the command is in the pipeline (its ack was lost): not dead-lettered');
      return undefined;
    }
    const failed = failedOutcome(this.names.prefix, parsed.job, { attempts: advisory.deliveries, lastError: error }, now);
    return {
      _id: letterId,
      kind: parsed.job.kind,
      subject: stored.subject,
      payload: Buffer.from(stored.data).toString('utf8'),
      headers: headersOf(stored.header),
      requestId: messageIdOf(parsed.job),
      clientAccountId: parsed.job.kind === 'plan-change' ? parsed.job.request.clientAccountId : parsed.job.order.clientAccountId,
      reason: 'MAX_DELIVERIES',
      attempts: advisory.deliveries,
      firstError: error,
      lastError: error,
      firstAt: stored.time.toISOString(),
      lastAt: now,
      outbox: failed ? [failed] : [],
    };
  }

  /** Enqueued (BullMQ still holds the job) or already decided (MongoDB). */
  private async reachedThePipeline(job: CommandJob): Promise<boolean> {
    if (await this.pipeline.queues.queueFor(job).getJob(commandJobId(job))) return true;
    if (job.kind === 'plan-change') return (await findDecision(this.pipeline.collections, job.request.requestId)) !== null;
    return (await this.pipeline.collections.requests.findOne({ _id: requestKey('resource-order', job.order.orderId) })) !== null;
  }

  /** Stops pulling and finishes the messages already received, within the grace period. */
  async stop(): Promise<void> {
    this.stopped = true;
    await stopConsuming('dead-letter collector', this.context.logger, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS, this.messages, this.loop);
  }
}
