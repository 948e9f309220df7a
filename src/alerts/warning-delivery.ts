import type { JsMsg } from 'nats';
import type { Warning } from '../domain/index.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { deadLetter } from '../store/dead-letter.js';
import type { Collections } from '../store/documents.js';
import { WebhookRejectedError, WebhookUnavailableError, type Recipient, type WarningNotifier } from './notifiers.js';

/** Longest wait between two attempts at a webhook that is unavailable. */
const MAX_WEBHOOK_DELAY_MS = 5 * 60_000;

/** The event must come back after `delayMs` (the webhook was unavailable, attempts are left). */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(
    readonly delayMs: number,
    options: { cause: unknown },
  ) {
    super('warning not delivered yet', options);
  }
}

/**
 * A dead letter of a warning (kind `warning`): the threshold event it came from (subject, bytes,
 * headers), so `opensim dlq retry` publishes the event again and the consumer warns once more.
 */
export function warningLetterId(warningId: string): string {
  return `warning:${warningId}`;
}

/**
 * Delivers a warning through the notifier and decides what a failure means: a webhook that
 * refuses it (4xx) dead-letters it at once (WEBHOOK_REJECTED); one that is unavailable is tried
 * again by redelivery with a growing delay, and after OPENSIM_ALERTS_WEBHOOK_MAX_ATTEMPTS
 * deliveries of the event the warning is dead-lettered (RETRIES_EXHAUSTED). The event is then
 * acknowledged: its enforcement is done, and the warning waits for an operator.
 */
export class WarningDelivery {
  constructor(
    private readonly c: Collections,
    private readonly notifier: WarningNotifier,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly maxAttempts: number,
  ) {}

  /** Whether the warning went out (or had gone out before); false when it is dead-lettered. */
  async deliver(msg: JsMsg, warning: Warning, to: Recipient, now: string): Promise<boolean> {
    // Given up on earlier: only an operator's `dlq retry` (which marks the event) posts it again.
    const retried = msg.headers?.has('Opensim-Retry-Of') ?? false;
    if (!retried && (await this.c.deadLetters.findOne({ _id: warningLetterId(warning.id), status: { $exists: false } }, { projection: { _id: 1 } }))) return false;
    try {
      await this.notifier.deliver(warning, to, now);
      if (this.notifier.channel === 'webhook') this.metrics.webhookDelivery('delivered');
      return true;
    } catch (err) {
      if (err instanceof WebhookRejectedError) return this.deadLetter(msg, warning, 'WEBHOOK_REJECTED', err, now).then(() => false);
      if (!(err instanceof WebhookUnavailableError)) throw err;
      const deliveries = msg.info.redeliveryCount;
      if (deliveries >= this.maxAttempts) return this.deadLetter(msg, warning, 'RETRIES_EXHAUSTED', err, now).then(() => false);
      this.metrics.webhookDelivery('retried');
      throw new RetryLater(Math.min(MAX_WEBHOOK_DELAY_MS, 1000 * 2 ** (deliveries - 1)), { cause: err });
    }
  }

  /** Upserted by the warning's id: a warning that fails again after a retry reopens its letter. */
  private async deadLetter(msg: JsMsg, warning: Warning, reason: 'WEBHOOK_REJECTED' | 'RETRIES_EXHAUSTED', err: Error, now: string): Promise<void> {
    const _id = warningLetterId(warning.id);
    const letter = deadLetter({ id: _id, kind: 'warning', reason, message: { subject: msg.subject, data: msg.data, headers: msg.headers }, requestId: null, clientAccountId: warning.clientAccountId, attempts: msg.info.redeliveryCount, error: err.message, at: now });
    // A letter reopened by a later failure keeps its first error and time, and counts every attempt.
    const { _id: _id2, reason: _reason, lastError, lastAt, attempts, ...onInsert } = letter;
    const result = await this.c.deadLetters.updateOne(
      { _id },
      { $setOnInsert: onInsert, $set: { reason, lastError, lastAt }, $inc: { attempts }, $unset: { status: '' } },
      { upsert: true },
    );
    this.metrics.webhookDelivery(reason === 'WEBHOOK_REJECTED' ? 'rejected' : 'exhausted');
    if (result.upsertedCount > 0) this.metrics.deadLetterWritten(reason);
    this.logger.error({ deadLetter: _id, lineId: warning.lineId, clientAccountId: warning.clientAccountId, threshold: warning.threshold, reason, err }, 'warning dead-lettered');
  }
}
