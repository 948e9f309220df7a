import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from 'nats';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { envelopeRecomputedDataSchema, thresholdCrossedDataSchema } from '../contract/events.js';
import type { CloudEvent } from '../contract/messages.js';
import { decideAlert, type AlertTrigger } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { rereadWhileLost, writeLine } from '../store/line-writes.js';
import { ensureStreams, streamLimitsOf } from '../messaging/streams.js';
import { naming, type Naming } from '../messaging/subjects.js';
import type { LineDocument } from '../store/documents.js';
import { settlesWithin } from '../runtime/grace.js';
import { SmsRecorder, WebhookNotifier, type WarningNotifier } from './notifiers.js';
import { RetryLater, WarningDelivery } from './warning-delivery.js';
import { consumeUntilStopped, ensureDurableConsumer } from '../messaging/durable-consumer.js';

export const ALERTS_CONSUMER = 'threshold-alerts';

/** What the alert consumer needs of the pipeline: it runs with `opensim start` or alone (`opensim alerts`). */
export type AlertsPipeline = Pick<Pipeline, 'collections' | 'outbox' | 'clock'>;

type AlertLine = Pick<LineDocument, '_id' | 'version' | 'clientAccountId' | 'line' | 'month' | 'enforcement' | 'outbox'>;

const MAX_NAK_DELAY_MS = 30_000;

/**
 * The threshold-alert consumer: its own durable consumer on the monitoring events
 * (`<prefix>.mon.>` in `<PREFIX>_EVENTS`). On `threshold.crossed` it warns the line's user;
 * on a crossing and on `envelope.recomputed` it enforces the data state the rules decided
 * (throttle at REDUCTION, block at BLOCK and COST_CAP, lift after an upgrade or at the start of
 * a month) by writing `enforcement` on the line document and publishing
 * `line.data-state.changed` — the only publisher of that event (docs/domain.md). What to do is
 * `decideAlert`; this adapter loads, writes once (version-guarded, with the event in the line's
 * outbox), publishes, warns, acknowledges. Acting twice on one event is impossible: the
 * enforcement records the event ids acted on in the same write, and a warning is delivered
 * once by its id (notifiers.ts). Events are taken one at a time, in stream order.
 */
export class ThresholdAlerts implements Role {
  readonly name = 'threshold-alerts';
  private context!: RoleContext;
  private names!: Naming;
  private notifier!: WarningNotifier;
  private warnings!: WarningDelivery;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private consuming = false;

  constructor(private readonly pipeline: AlertsPipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.names = naming(context.config.OPENSIM_SUBJECT_PREFIX);
    const { OPENSIM_ALERTS_WEBHOOK_URL: url, OPENSIM_ALERTS_WEBHOOK_SECRET: secret, OPENSIM_ALERTS_WEBHOOK_TIMEOUT_MS: timeoutMs } = context.config;
    // loadConfig refuses a webhook URL without its secret.
    this.notifier = url && secret ? new WebhookNotifier(this.pipeline.collections, { url, secret, timeoutMs }) : new SmsRecorder(this.pipeline.collections);
    this.warnings = new WarningDelivery(this.pipeline.collections, this.notifier, context.metrics, context.logger, context.config.OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS);
    context.readiness.registerConsumer(this.name, () => this.consuming);
    this.loop = this.runUntilStopped();
  }

  private runUntilStopped(): Promise<void> {
    return consumeUntilStopped('threshold alerts', this.context.logger, () => this.stopped, () => this.run());
  }

  private async run(): Promise<void> {
    const { connections, logger } = this.context;
    const nc = await connections.natsReady;
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, this.names, streamLimitsOf(this.context.config));
    await ensureDurableConsumer(jsm, this.names.eventStream, {
      durable_name: ALERTS_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${this.names.prefix}.mon.>`,
      max_ack_pending: 1000,
      ack_wait: 30_000_000_000,
      max_deliver: -1,
    });
    const consumer = await nc.jetstream().consumers.get(this.names.eventStream, ALERTS_CONSUMER);
    this.messages = await consumer.consume({ max_messages: 256 });
    logger.info({ stream: this.names.eventStream, consumer: ALERTS_CONSUMER, channel: this.notifier.channel }, 'threshold alerts consuming');
    this.consuming = true;
    try {
      for await (const msg of this.messages) {
        await this.handle(msg).then(
          () => msg.ack(),
          (err) => {
            const delay = err instanceof RetryLater ? err.delayMs : Math.min(MAX_NAK_DELAY_MS, 500 * 2 ** Math.max(0, msg.info.redeliveryCount - 1));
            logger.warn({ err, subject: msg.subject, seq: msg.seq, retryInMs: delay }, 'monitoring event not acted on yet; redelivering');
            msg.nak(delay);
          },
        );
      }
    } finally {
      this.consuming = false;
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const trigger = triggerOf(msg);
    if (!trigger) return;
    // Counted on its first delivery: the durable consumer hands each crossing to one process.
    if (trigger.type === 'opensim.threshold.crossed' && msg.info.redeliveryCount === 1) this.context.metrics.thresholdCrossed(trigger.data.threshold);
    const c = this.pipeline.collections;
    const { logger } = this.context;
    await rereadWhileLost(`enforcement of line '${trigger.data.lineId}'`, async () => {
      const line = (await c.lines.findOne({ _id: trigger.data.lineId }, { projection: { version: 1, clientAccountId: 1, line: 1, month: 1, enforcement: 1, outbox: 1 } })) as AlertLine | null;
      if (!line) return;
      const now = this.pipeline.clock().toISOString();
      const decision = decideAlert(trigger, { record: line.month, enforcement: line.enforcement ?? null }, now);
      if (decision.outcome === 'stale') {
        logger.debug({ eventId: trigger.id, lineId: line._id }, 'monitoring event of a closed month: nothing to do');
        return;
      }
      if (decision.enforcement) {
        const outbox = decision.events.map((e) => toOutboxEntry(this.names.prefix, e, now));
        const written = await writeLine(c, { lineId: line._id, version: line.version, asRead: { outbox: line.outbox ?? [] }, set: { enforcement: decision.enforcement }, outbox }, now);
        // The line changed meanwhile: decide again on what it is now.
        if (written.status !== 'committed') return 'lost';
        const change = decision.events[0]?.data;
        logger.info({ eventId: trigger.id, lineId: line._id, clientAccountId: line.clientAccountId, from: change?.from, to: change?.to, reason: change?.reason }, 'data state enforced');
        await this.pipeline.outbox.flushQuietly(c.lines, line._id, written.outbox, written.markers);
      }
      if (decision.warning) {
        const warned = await this.warnings.deliver(msg, decision.warning, { msisdn: line.line.msisdn ?? null }, now);
        if (warned) logger.info({ eventId: trigger.id, lineId: line._id, clientAccountId: line.clientAccountId, threshold: decision.warning.threshold, channel: this.notifier.channel, msisdn: line.line.msisdn }, 'line user warned');
      }
      return;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    // An event not acted on by then is not acknowledged: it comes back by redelivery.
    await settlesWithin(this.loop ?? Promise.resolve(), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}

/** The events acted on, validated with their contract schemas; anything else is not ours (`null`). */
function triggerOf(msg: JsMsg): AlertTrigger | null {
  let event: CloudEvent;
  try {
    event = msg.json<CloudEvent>();
  } catch {
    return null;
  }
  if (event.type === 'opensim.threshold.crossed') {
    const data = thresholdCrossedDataSchema.safeParse(event.data);
    return data.success ? { id: event.id, type: event.type, data: data.data } : null;
  }
  if (event.type === 'opensim.envelope.recomputed') {
    const data = envelopeRecomputedDataSchema.safeParse(event.data);
    return data.success ? { id: event.id, type: event.type, data: data.data } : null;
  }
  return null;
}
