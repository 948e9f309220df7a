import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { planChangeAppliedDataSchema, planChangeFailedDataSchema } from '../contract/events.js';
import { planChangeRequestSchema, resourceOrderSchema, type CloudEvent } from '../contract/messages.js';
import { UsageError } from './io.js';

/** The flags of a request kind, as `parseArgs` reads them (all strings: ids, instants). */
export type KindValues = Record<string, string | undefined>;

/**
 * One kind of `opensim request`: its flags, how they become the inbound message of
 * CONTRACT.md, and how its outcome event is recognised and told. A new kind (the preview
 * issue's `cancel`) is one more object like these, listed in request.ts.
 */
export interface RequestKind {
  /** One line per flag, for the usage. */
  flagsHelp: string;
  options: Record<string, { type: 'string' }>;
  /** The message to publish; throws UsageError for a bad or missing flag. */
  build(values: KindValues, now: Date): OutgoingRequest;
}

export interface OutgoingRequest {
  /** Subject under the prefix, e.g. `cmd.plan-change.CA-100237`. */
  subject: string;
  /** Subject of its outcome events under the prefix, e.g. `evt.plan-change.CA-100237`. */
  outcomeSubject: string;
  /** Nats-Msg-Id: the message's own id, so JetStream drops a duplicate. */
  msgId: string;
  body: Record<string, unknown>;
  /** What the message is, for the lines printed: `plan-change cli-…`. */
  label: string;
  /** Whether an event on the outcome subject is this request's outcome. */
  isOutcome(event: CloudEvent): boolean;
  /** The outcome as one human line. */
  describe(event: CloudEvent): string;
}

const SHARED_HELP = `  --json              print the outcome CloudEvent as JSON (stdout) instead of a line
  --timeout <s>       how long to wait for the outcome: 30 (seconds), 90s, 2m (default 30s)`;

export const planChange: RequestKind = {
  flagsHelp: `  --account <id>      client account (clientAccountId; the subject's last token)
  --service <ref>     service of the line (serviceRef)
  --line <id>         the line whose plan changes (lineId)
  --target <id>       the available resource to move the line to (targetResourceId)
  --request-id <id>   requestId and Nats-Msg-Id (default: generated, cli-…)
  --requested-at <t>  RFC 3339 instant with an offset (default: now)
  --requested-by <s>  who asks (optional)
${SHARED_HELP}`,
  options: {
    account: { type: 'string' },
    service: { type: 'string' },
    line: { type: 'string' },
    target: { type: 'string' },
    'request-id': { type: 'string' },
    'requested-at': { type: 'string' },
    'requested-by': { type: 'string' },
  },
  build(values, now) {
    const requestId = values['request-id'] ?? generatedId();
    const body = checked(
      planChangeRequestSchema,
      {
        requestId,
        clientAccountId: required(values, 'account'),
        serviceRef: required(values, 'service'),
        lineId: required(values, 'line'),
        targetResourceId: required(values, 'target'),
        requestedAt: values['requested-at'] ?? now.toISOString(),
        ...(values['requested-by'] === undefined ? {} : { requestedBy: values['requested-by'] }),
      },
      { requestId: '--request-id', clientAccountId: '--account', serviceRef: '--service', lineId: '--line', targetResourceId: '--target', requestedAt: '--requested-at', requestedBy: '--requested-by' },
    );
    return {
      subject: `cmd.plan-change.${body.clientAccountId}`,
      outcomeSubject: `evt.plan-change.${body.clientAccountId}`,
      msgId: requestId,
      body,
      label: `plan-change ${requestId}`,
      // plan-change-cancel.* events name the request too: only the request's own family counts.
      isOutcome: (event) => event.type.startsWith('opensim.plan-change.') && event.data.requestId === requestId,
      describe: (event) => `${outcomeOf(event).padEnd(9)} plan-change ${requestId} on ${String(event.data.lineId ?? body.lineId)}: ${planChangeDetail(event)}`,
    };
  },
};

export const resourceOrder: RequestKind = {
  flagsHelp: `  --account <id>      client account (clientAccountId; the subject's last token)
  --service <ref>     service that orders it (serviceRef)
  --resource <id>     the new resource (resourceId)
  --product <ref>     its product (productRef)
  --order-id <id>     orderId and Nats-Msg-Id (default: generated, cli-…)
  --ordered-at <t>    RFC 3339 instant with an offset (default: now)
${SHARED_HELP}`,
  options: {
    account: { type: 'string' },
    service: { type: 'string' },
    resource: { type: 'string' },
    product: { type: 'string' },
    'order-id': { type: 'string' },
    'ordered-at': { type: 'string' },
  },
  build(values, now) {
    const orderId = values['order-id'] ?? generatedId();
    const body = checked(
      resourceOrderSchema,
      {
        orderId,
        clientAccountId: required(values, 'account'),
        serviceRef: required(values, 'service'),
        resourceId: required(values, 'resource'),
        productRef: required(values, 'product'),
        orderedAt: values['ordered-at'] ?? now.toISOString(),
      },
      { orderId: '--order-id', clientAccountId: '--account', serviceRef: '--service', resourceId: '--resource', productRef: '--product', orderedAt: '--ordered-at' },
    );
    return {
      subject: `cmd.resource-order.${body.clientAccountId}`,
      outcomeSubject: `evt.resource-order.${body.clientAccountId}`,
      msgId: orderId,
      body,
      label: `resource-order ${orderId}`,
      isOutcome: (event) => event.type.startsWith('opensim.resource-order.') && event.data.orderId === orderId,
      describe: (event) => {
        const d = event.data;
        const detail = outcomeOf(event) === 'applied' ? `resource ${String(d.resourceId)} (${String(d.productRef)}) of ${String(d.serviceRef)} is ${String(d.state)}` : reasonDetail(event);
        return `${outcomeOf(event).padEnd(9)} resource-order ${orderId}: ${detail}`;
      },
    };
  },
};

/** The last word of the event type: applied, rejected, failed, scheduled, cancelled. */
export function outcomeOf(event: CloudEvent): string {
  return event.type.slice(event.type.lastIndexOf('.') + 1);
}

/** The outcomes that mean "done as asked" (exit 0); any other is a refusal or a failure. */
export const SUCCESSFUL_OUTCOMES: readonly string[] = ['applied', 'scheduled', 'cancelled'];

type Applied = z.infer<typeof planChangeAppliedDataSchema>;
type Failed = z.infer<typeof planChangeFailedDataSchema>;
/** CONTRACT.md, additions of 2026-11-30 (scheduled changes and cancel). */
interface Scheduled {
  to: { resourceId: string; productRef: string };
  effectiveAt: string;
}
interface Cancelled {
  cancelId: string;
  cancelledAt: string;
}

function planChangeDetail(event: CloudEvent): string {
  switch (outcomeOf(event)) {
    case 'applied': {
      const d = event.data as unknown as Applied;
      const total = d.envelope.totalBytes;
      return `${d.from.productRef} (${d.from.resourceId}) -> ${d.to.productRef} (${d.to.resourceId}); envelope ${d.envelope.month}: ${total === null ? 'metered' : gib(total)}, used ${gib(d.usage.usedBytes)}`;
    }
    case 'scheduled': {
      const d = event.data as unknown as Scheduled;
      return `-> ${d.to.productRef} (${d.to.resourceId}) at ${d.effectiveAt}`;
    }
    case 'cancelled': {
      const d = event.data as unknown as Cancelled;
      return `cancelled by ${d.cancelId} at ${d.cancelledAt}`;
    }
    case 'failed': {
      const d = event.data as unknown as Failed;
      return `after ${d.attempts} attempt(s): ${d.error} (dead-lettered: opensim dlq list)`;
    }
    default:
      return reasonDetail(event);
  }
}

function reasonDetail(event: CloudEvent): string {
  const { reason, message } = event.data as { reason?: string; message?: string };
  return reason ? `${reason}${message ? ` (${message})` : ''}` : JSON.stringify(event.data);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function generatedId(): string {
  return `cli-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function required(values: KindValues, flag: string): string {
  const value = values[flag];
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Validates with the contract's own schema, naming the flag of each bad field. */
function checked<T extends z.ZodType>(schema: T, body: Record<string, unknown>, flags: Record<string, string>): z.infer<T> & Record<string, unknown> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data as z.infer<T> & Record<string, unknown>;
  const problems = parsed.error.issues.map((issue) => `${flags[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}`);
  throw new UsageError(problems.join('; '));
}
