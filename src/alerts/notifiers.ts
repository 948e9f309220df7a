import type { Warning } from '../domain/index.js';
import type { Collections } from '../store/documents.js';
import type { NotificationDocument } from '../store/monitoring-documents.js';
import { insertOnce } from '../store/insert-once.js';

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

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  readonly code = 'WEBHOOK_REFUSED';
}

/**
 * POSTs the warning as JSON to a webhook (an SMS gateway, a CRM). The request carries
 * `Idempotency-Key: <warning id>`: a receiver that honours it sees each warning once even if a
 * crash between its answer and our record makes us post again. A warning already recorded is
 * not posted again. Anything but a 2xx is a transient failure: the event is redelivered.
 */
export class WebhookNotifier implements WarningNotifier {
  readonly channel = 'webhook' as const;

  constructor(
    private readonly c: Collections,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async deliver(warning: Warning, to: Recipient, at: string): Promise<void> {
    if (await this.c.notifications.findOne({ _id: warning.id }, { projection: { _id: 1 } })) return;
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': warning.id },
      body: JSON.stringify({ id: warning.id, to: to.msisdn, lineId: warning.lineId, clientAccountId: warning.clientAccountId, month: warning.month, threshold: warning.threshold, limit: warning.limit, value: warning.value, text: warning.text }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new WebhookError(`webhook answered ${response.status} for warning '${warning.id}'`);
    await insertOnce(this.c.notifications, notificationOf(this.channel, warning, to, at));
  }
}
