import type { Warning } from '../domain/index.js';
import type { Collections } from '../store/documents.js';
import type { NotificationDocument } from '../store/monitoring-documents.js';
import { insertOnce } from '../store/insert-once.js';
import { signWebhook } from './webhook-signature.js';

/** Who receives a warning: the line's user, by SMS to its MSISDN. */
export interface Recipient {
  msisdn: string | null;
}

/**
 * The notification port of the threshold-alert consumer. `deliver` is idempotent by
 * `warning.id` (the crossing event's id): delivering the same warning again sends nothing more.
 * Every adapter keeps what it delivered in the `notifications` collection.
 */
export interface WarningNotifier {
  readonly channel: NotificationDocument['channel'];
  deliver(warning: Warning, to: Recipient, at: string): Promise<void>;
}

function notificationOf(channel: NotificationDocument['channel'], warning: Warning, to: Recipient, at: string): NotificationDocument {
  return { _id: warning.id, channel, lineId: warning.lineId, clientAccountId: warning.clientAccountId, to: to.msisdn, month: warning.month, threshold: warning.threshold, text: warning.text, at };
}

/** Records the SMS text it would send, once per warning: the adapter used when no gateway is configured. */
export class SmsRecorder implements WarningNotifier {
  readonly channel = 'sms' as const;

  constructor(private readonly c: Collections) {}

  async deliver(warning: Warning, to: Recipient, at: string): Promise<void> {
    await insertOnce(this.c.notifications, notificationOf(this.channel, warning, to, at));
  }
}

/** The receiver refused the warning for good (a 4xx other than 408 and 429): it is dead-lettered, not retried. */
export class WebhookRejectedError extends Error {
  override readonly name = 'WebhookRejectedError';
  readonly code = 'WEBHOOK_REJECTED';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The receiver could not take it now (5xx, 408, 429, timeout, unreachable): retried, up to a cap. */
export class WebhookUnavailableError extends Error {
  override readonly name = 'WebhookUnavailableError';
  readonly code = 'WEBHOOK_UNAVAILABLE';
}

export interface WebhookTarget {
  url: string;
  /** `whsec_` + base64 (Standard Webhooks). */
  secret: string;
  timeoutMs: number;
}

/**
 * POSTs the warning as JSON to a webhook (an SMS gateway, a CRM), signed per Standard Webhooks
 * (webhook-signature.ts): `webhook-id` is the warning id, the same on every attempt, so the
 * receiver can deduplicate; `Idempotency-Key` carries it too. A warning already recorded is not
 * posted again. A 2xx records it; any other answer throws a typed error saying whether a retry
 * can help.
 */
export class WebhookNotifier implements WarningNotifier {
  readonly channel = 'webhook' as const;

  constructor(
    private readonly c: Collections,
    private readonly target: WebhookTarget,
  ) {}

  async deliver(warning: Warning, to: Recipient, at: string): Promise<void> {
    if (await this.c.notifications.findOne({ _id: warning.id }, { projection: { _id: 1 } })) return;
    const body = JSON.stringify({ id: warning.id, to: to.msisdn, lineId: warning.lineId, clientAccountId: warning.clientAccountId, month: warning.month, threshold: warning.threshold, limit: warning.limit, value: warning.value, text: warning.text });
    // Real time, not the pipeline's clock: the receiver checks the timestamp against its own clock.
    const signed = signWebhook(this.target.secret, warning.id, new Date(), body);
    let response: Response;
    try {
      response = await fetch(this.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': warning.id, ...signed },
        body,
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
    } catch (err) {
      throw new WebhookUnavailableError(`webhook unreachable for warning '${warning.id}': ${(err as Error).message}`, { cause: err });
    }
    await response.arrayBuffer().catch(() => undefined);
    const { status } = response;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new WebhookRejectedError(status, `webhook refused warning '${warning.id}' with ${status}`);
    if (!response.ok) throw new WebhookUnavailableError(`webhook answered ${status} for warning '${warning.id}'`);
    await insertOnce(this.c.notifications, notificationOf(this.channel, warning, to, at));
  }
}
