import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg, type JetStreamManager, type StoredMsg } from 'nats';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { ensureStreams, isNotFound, streamLimitsOf } from '../messaging/streams.js';
import { naming, type Naming } from '../messaging/subjects.js';
import { givenUpVerdict } from '../producers/given-up.js';
import { intakeCoordinationKeys, intakeKeys } from '../queues/intake-keys.js';
import { insertOnce } from '../store/insert-once.js';
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
    await ensureStreams(jsm, this.names, streamLimitsOf(this.context.config));
    await ensureDurableConsumer(jsm, this.names.advisoryStream, { durable_name: ADVISORY_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 60_000_000_000 }, this.context.logger);
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
    const { config, logger, metrics } = this.context;
    // The intake takes every command in, in stream order, or gives it up itself (its own attempt
    // cap): a command JetStream stopped delivering may still be taken in, read from the stream.
    // Advisories are only acted on for a deployment whose intake has no cursor yet.
    const redis = this.context.connections.redis;
    // One key per EXISTS: on a Redis Cluster the two live in different slots.
    if ((await redis.exists(intakeCoordinationKeys(this.names.prefix).layouts)) + (await redis.exists(intakeKeys(this.names.prefix).cursor)) > 0) {
      logger.info({ stream: advisory.stream, seq: advisory.stream_seq, deliveries: advisory.deliveries }, 'max-deliveries advisory left to the intake, which takes every command in or gives it up itself');
      msg.ack();
      return;
    }
    let stored: StoredMsg | null = null;
    try {
      stored = await jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq });
    } catch (err) {
      // Removed from the stream meanwhile (limits, an operator): the letter keeps what the advisory says.
      if (!isNotFound(err)) throw err;
    }
    const deps = { prefix: this.names.prefix, maxPayloadBytes: config.OPENSIM_MAX_PAYLOAD_BYTES, collections: this.pipeline.collections, queues: this.pipeline.queues };
    const verdict = await givenUpVerdict(deps, { stream: advisory.stream, seq: advisory.stream_seq, deliveries: advisory.deliveries, consumer: advisory.consumer, stored }, this.pipeline.clock().toISOString());
    if ('inPipeline' in verdict) {
      logger.warn({ stream: advisory.stream, seq: advisory.stream_seq, requestId: verdict.inPipeline }, 'max deliveries reached, but the command is in the pipeline (its ack was lost): not dead-lettered');
      msg.ack();
      return;
    }
    const { letter } = verdict;
    if (await insertOnce(this.pipeline.collections.deadLetters, letter)) {
      metrics.deadLetterWritten(letter.reason);
      if (letter.reason === 'MAX_DELIVERIES') metrics.requestDecided(letter.kind === 'plan-change-cancel' || letter.kind === 'resource-order' ? letter.kind : 'plan-change', 'failed', 'MAX_DELIVERIES');
      else metrics.requestDecided(letter.kind === 'plan-change-cancel' || letter.kind === 'resource-order' ? letter.kind : 'plan-change', 'rejected', letter.reason);
      logger.error({ deadLetter: letter._id, requestId: letter.requestId, clientAccountId: letter.clientAccountId, deliveries: advisory.deliveries, reason: letter.reason }, 'inbound message dead-lettered after max deliveries');
    }
    await this.pipeline.outbox.flushQuietly(this.pipeline.collections.deadLetters, letter._id);
    msg.ack();
  }

  /** Stops pulling and finishes the messages already received, within the grace period. */
  async stop(): Promise<void> {
    this.stopped = true;
    await stopConsuming('dead-letter collector', this.context.logger, this.context.config.OPENSIM_SHUTDOWN_GRACE_MS, this.messages, this.loop);
  }
}
