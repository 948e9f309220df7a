import { AckPolicy, DeliverPolicy, type ConsumerMessages } from 'nats';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { ensureStreams, streamLimitsOf } from '../messaging/streams.js';
import { naming, type Naming } from '../messaging/subjects.js';
import { insertUsageDeadLetters } from '../store/usage-store.js';
import { relayWhenDeferred } from '../outbox/publish-outboxes.js';
import { settlesWithin } from '../runtime/grace.js';
import { backoffMs, sleep } from '../runtime/retry.js';
import { acknowledge, holdUsage, type AckWord, type HeldUsage } from './held-usage.js';
import { writeUsageBatch, type UsageWriterDeps } from './usage-writer.js';
import { ackWaitMs, consumeUntilStopped, ensureDurableConsumer } from '../messaging/durable-consumer.js';

export const USAGE_CONSUMER = 'usage-intake';

/**
 * NATS → MongoDB for usage records, in batches. A reader takes messages from the durable
 * consumer into a buffer; a writer takes whatever is buffered (up to OPENSIM_USAGE_BATCH_MAX)
 * as one batch as soon as it is free and the oldest record has waited
 * OPENSIM_USAGE_BATCH_LINGER_MS, so batches grow with the load and a lone record waits no more
 * than that. JetStream stops delivering at OPENSIM_USAGE_MAX_IN_FLIGHT unacknowledged
 * messages: a burst waits in the stream, and this process holds at most that many records.
 * A batch is acknowledged only once written (usage-writer.ts); a failure is retried with
 * backoff, the messages kept ours meanwhile (`working`), and never lost: unacknowledged, they
 * come back after a crash. Each message is parsed as it arrives and only what acknowledging it
 * needs is kept (held-usage.ts).
 */
export class UsageIntake implements Role {
  readonly name = 'usage-intake';
  private context!: RoleContext;
  private names!: Naming;
  private messages: ConsumerMessages | undefined;
  private readonly buffer: HeldUsage[] = [];
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private writer: Promise<void> | undefined;
  private stopped = false;
  private consuming = false;
  /** The usage consumer's ack wait as JetStream holds it (the configured value until the consumer is read). */
  private ackWaitMs = 0;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    this.ackWaitMs = context.config.OPENSIM_USAGE_ACK_WAIT_MS;
    context.readiness.registerConsumer(this.name, () => this.consuming);
    this.loop = this.readUntilStopped();
    this.writer = this.writeUntilStopped();
  }

  private readUntilStopped(): Promise<void> {
    return consumeUntilStopped('usage intake', this.context.logger, () => this.stopped, () => this.read());
  }

  private async read(): Promise<void> {
    const { connections, config, logger } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names, streamLimitsOf(this.context.config));
    const consumerConfig = await ensureDurableConsumer(jsm, this.names.usageStream, {
      durable_name: USAGE_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.names.usage,
      max_ack_pending: config.OPENSIM_USAGE_MAX_IN_FLIGHT,
      ack_wait: config.OPENSIM_USAGE_ACK_WAIT_MS * 1_000_000,
      // Never given up on: a usage record is counted, or refused into the dead letters.
      max_deliver: -1,
    }, logger);
    // Waits follow what JetStream does, not what this process was told (an operator may have tuned the consumer).
    this.ackWaitMs = ackWaitMs(consumerConfig);
    const consumer = await nc.jetstream().consumers.get(this.names.usageStream, USAGE_CONSUMER);
    this.messages = await consumer.consume({ max_messages: Math.min(config.OPENSIM_USAGE_MAX_IN_FLIGHT, 1000) });
    logger.info({ stream: this.names.usageStream, consumer: USAGE_CONSUMER }, 'usage intake consuming');
    this.consuming = true;
    try {
      for await (const msg of this.messages) {
        this.buffer.push(holdUsage(msg, this.names.usageStream, config.OPENSIM_MAX_PAYLOAD_BYTES, this.pipeline.clock().toISOString()));
        this.wake?.();
      }
    } finally {
      this.consuming = false;
    }
  }

  private async writeUntilStopped(): Promise<void> {
    const { config } = this.context;
    while (!this.stopped || this.buffer.length > 0) {
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      if (this.stopped) {
        // Shutting down: what was not started goes back to JetStream at once, for another process.
        this.acknowledge(this.buffer.splice(0), '-NAK');
        break;
      }
      // Linger: a batch not full waits until its oldest record is OPENSIM_USAGE_BATCH_LINGER_MS old.
      const waited = Date.now() - this.buffer[0]!.receivedAt;
      if (this.buffer.length < config.OPENSIM_USAGE_BATCH_MAX && waited < config.OPENSIM_USAGE_BATCH_LINGER_MS) {
        await sleep(config.OPENSIM_USAGE_BATCH_LINGER_MS - waited);
        continue;
      }
      await this.writeBatch(this.buffer.splice(0, config.OPENSIM_USAGE_BATCH_MAX));
    }
  }

  /** Writes one batch until it is durable, then acknowledges it. */
  private async writeBatch(batch: HeldUsage[]): Promise<void> {
    const { config, logger } = this.context;
    const started = Date.now();
    const heartbeat = setInterval(() => this.acknowledge(batch, '+WPI'), Math.max(250, Math.floor(this.ackWaitMs / 3)));
    try {
      const valid = batch.flatMap((h) => (h.parsed.ok ? [h.parsed.message] : []));
      const invalid = batch.filter((h) => !h.parsed.ok);
      for (const h of invalid) if (!h.parsed.ok) logger.info({ usageId: h.parsed.usageId, clientAccountId: h.parsed.letter.clientAccountId, reason: 'INVALID_PAYLOAD', problem: h.parsed.problem }, 'usage record rejected');
      const policy = { attempts: Number.POSITIVE_INFINITY, baseMs: config.OPENSIM_RETRY_BASE_MS, maxMs: config.OPENSIM_RETRY_MAX_MS };
      for (let attempt = 1; ; attempt++) {
        try {
          await insertUsageDeadLetters(this.pipeline.collections, invalid.flatMap((h) => (h.parsed.ok ? [] : [h.parsed.letter])));
          const result = valid.length > 0 ? await writeUsageBatch(this.writerDeps(), valid, this.pipeline.clock().toISOString()) : null;
          this.context.metrics.usageRecords({ counted: result?.counted ?? 0, duplicate: result?.duplicates ?? 0, rejected: result?.rejected ?? 0, invalid: invalid.length });
          this.acknowledge(invalid, '+TERM');
          this.acknowledge(batch.filter((h) => h.parsed.ok), '+ACK');
          logger.debug({ records: batch.length, invalid: invalid.length, ...result, ms: Date.now() - started }, 'usage batch written');
          return;
        } catch (err) {
          if (this.stopped && attempt > 1) {
            // Leaving: the messages come back to whoever consumes next; nothing was acknowledged.
            this.acknowledge(batch, '-NAK');
            return;
          }
          const wait = backoffMs(policy, attempt);
          logger.warn({ err, records: batch.length, attempt, retryInMs: wait }, 'usage batch not written yet; retrying');
          await sleep(wait);
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  private acknowledge(held: readonly HeldUsage[], word: AckWord): void {
    acknowledge(this.context.connections.nats(), held, word);
  }

  private writerDeps(): UsageWriterDeps {
    const { config, connections } = this.context;
    return {
      collections: this.pipeline.collections,
      references: this.pipeline.references,
      js: () => connections.nats()?.jetstream(),
      prefix: config.OPENSIM_SUBJECT_PREFIX,
      usageStream: this.names.usageStream,
      usageUpdatedIntervalMs: config.OPENSIM_USAGE_UPDATED_INTERVAL_MS,
      onNoticeDue: (dueAt) => this.pipeline.noticeSweeps.request(Date.parse(dueAt)),
      onPublishDeferred: relayWhenDeferred(this.pipeline.outboxSweeps, this.context.logger, 'usage batch'),
      ackWaitMs: this.ackWaitMs,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    this.wake?.();
    // Past the grace period the batch in flight is left unacknowledged: it comes back by redelivery.
    await settlesWithin(Promise.all([this.loop, this.writer]), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}
