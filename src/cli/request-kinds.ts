import type { z } from 'zod';
import type { planChangeAppliedDataSchema, planChangeFailedDataSchema } from '../contract/events.js';
import { planChangeCancelSchema, planChangeRequestSchema, resourceOrderSchema, type CloudEvent } from '../contract/messages.js';
import { checked, generatedId, gib, optional, required, SHARED_HELP, type KindOptions, type KindValues } from './request-flags.js';

export type { KindValues } from './request-flags.js';

/**
 * One kind of `opensim request`: its flags, and how they become what is sent. Most kinds publish
 * an inbound message of CONTRACT.md and wait for its outcome event (OutgoingRequest); `preview`
 * asks a query and prints its reply (OutgoingQuery, request-preview.ts). A new kind is one more
 * object like these, listed in request.ts.
 */
export interface RequestKind {
  /** One line per flag, for the usage. */
  flagsHelp: string;
  options: KindOptions;
  /** What to send; throws UsageError for a bad or missing flag. */
  build(values: KindValues, now: Date): OutgoingRequest | OutgoingQuery;
}

export interface OutgoingRequest {
  mode: 'publish';
  /** Subject under the prefix, e.g. `cmd.plan-change.CA-100237`. */
  subject: string;
  /** Subject of its outcome events under the prefix, e.g. `evt.plan-change.CA-100237`. */
  outcomeSubject: string;
  /** Nats-Msg-Id: the message's own id, so JetStream drops a duplicate. */
  msgId: string;
  body: Record<string, unknown>;
  /** What the message is, for the lines printed: `plan-change cli-…`. */
  label: string;
  /** Whether an event on the outcome subject is the outcome waited for. */
  isOutcome(event: CloudEvent): boolean;
  /** An event of this request that is noted and waited past (`scheduled`, with --wait-final). */
  isInterim?(event: CloudEvent): boolean;
  /** How long to wait when --timeout is not given; 30 s when absent. */
  defaultTimeoutMs?: number;
  /** The outcome as one human line. */
  describe(event: CloudEvent): string;
}

/** A NATS request-reply: the reply is printed, and says itself whether the answer is a yes. */
export interface OutgoingQuery {
  mode: 'query';
  subject: string;
  body: Record<string, unknown>;
  label: string;
  /** Exit 0 when true; 1 otherwise (a refusal, or an error reply). */
  succeeded(reply: Record<string, unknown>): boolean;
  describe(reply: Record<string, unknown>): string;
}

/** After `effectiveAt`, how long --wait-final waits for the final outcome by default. */
const FINAL_GRACE_MS = 30_000;

export const planChange: RequestKind = {
  flagsHelp: `  --account <id>      client account (clientAccountId; the subject's last token)
  --service <ref>     service of the line (serviceRef)
  --line <id>         the line whose plan changes (lineId)
  --target <id>       the available resource to move the line to (targetResourceId)
  --at <t>            when it takes effect (effectiveAt), RFC 3339 with an offset, e.g.
                      2026-12-01T00:00:00+01:00 (00:00 Paris on the 1st); absent: at once.
                      A later instant schedules it: the outcome awaited is scheduled (exit 0)
  --wait-final        with --at: wait past scheduled for the final outcome (applied, rejected,
                      cancelled, failed); the scheduled event is noted on stderr, and the default
                      timeout runs until 30 s after --at
  --request-id <id>   requestId and Nats-Msg-Id (default: generated, cli-…)
  --requested-at <t>  RFC 3339 instant with an offset (default: now)
  --requested-by <s>  who asks (optional)
${SHARED_HELP}`,
  options: {
    account: { type: 'string' },
    service: { type: 'string' },
    line: { type: 'string' },
    target: { type: 'string' },
    at: { type: 'string' },
    'wait-final': { type: 'boolean' },
    'request-id': { type: 'string' },
    'requested-at': { type: 'string' },
    'requested-by': { type: 'string' },
  },
  build(values, now) {
    const requestId = optional(values, 'request-id') ?? generatedId();
    const at = optional(values, 'at');
    const requestedBy = optional(values, 'requested-by');
    const body = checked(
      planChangeRequestSchema,
      {
        requestId,
        clientAccountId: required(values, 'account'),
        serviceRef: required(values, 'service'),
        lineId: required(values, 'line'),
        targetResourceId: required(values, 'target'),
        requestedAt: optional(values, 'requested-at') ?? now.toISOString(),
        ...(requestedBy === undefined ? {} : { requestedBy }),
        ...(at === undefined ? {} : { effectiveAt: at }),
      },
      { requestId: '--request-id', clientAccountId: '--account', serviceRef: '--service', lineId: '--line', targetResourceId: '--target', requestedAt: '--requested-at', requestedBy: '--requested-by', effectiveAt: '--at' },
    );
    const waitFinal = values['wait-final'] === true;
    // plan-change-cancel.* events name the request too: only the request's own family counts.
    const own = (event: CloudEvent) => event.type.startsWith('opensim.plan-change.') && event.data.requestId === requestId;
    const scheduled = (event: CloudEvent) => own(event) && outcomeOf(event) === 'scheduled';
    return {
      mode: 'publish',
      subject: `cmd.plan-change.${body.clientAccountId}`,
      outcomeSubject: `evt.plan-change.${body.clientAccountId}`,
      msgId: requestId,
      body,
      label: `plan-change ${requestId}`,
      isOutcome: (event) => own(event) && !(waitFinal && scheduled(event)),
      isInterim: (event) => waitFinal && scheduled(event),
      ...(waitFinal && at !== undefined ? { defaultTimeoutMs: Math.max(0, Date.parse(at) - now.getTime()) + FINAL_GRACE_MS } : {}),
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
    const orderId = optional(values, 'order-id') ?? generatedId();
    const body = checked(
      resourceOrderSchema,
      {
        orderId,
        clientAccountId: required(values, 'account'),
        serviceRef: required(values, 'service'),
        resourceId: required(values, 'resource'),
        productRef: required(values, 'product'),
        orderedAt: optional(values, 'ordered-at') ?? now.toISOString(),
      },
      { orderId: '--order-id', clientAccountId: '--account', serviceRef: '--service', resourceId: '--resource', productRef: '--product', orderedAt: '--ordered-at' },
    );
    return {
      mode: 'publish',
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

/** `cancel`: CONTRACT.md's plan-change-cancel; its own outcome is plan-change-cancel.applied|rejected. */
export const planChangeCancel: RequestKind = {
  flagsHelp: `  --account <id>      client account (clientAccountId; the subject's last token)
  --request-id <id>   the scheduled plan-change request to cancel (requestId)
  --cancel-id <id>    cancelId and Nats-Msg-Id (default: generated, cli-…)
  --requested-at <t>  RFC 3339 instant with an offset (default: now)
${SHARED_HELP}`,
  options: {
    account: { type: 'string' },
    'request-id': { type: 'string' },
    'cancel-id': { type: 'string' },
    'requested-at': { type: 'string' },
  },
  build(values, now) {
    const cancelId = optional(values, 'cancel-id') ?? generatedId();
    const body = checked(
      planChangeCancelSchema,
      { cancelId, clientAccountId: required(values, 'account'), requestId: required(values, 'request-id'), requestedAt: optional(values, 'requested-at') ?? now.toISOString() },
      { cancelId: '--cancel-id', clientAccountId: '--account', requestId: '--request-id', requestedAt: '--requested-at' },
    );
    return {
      mode: 'publish',
      subject: `cmd.plan-change-cancel.${body.clientAccountId}`,
      // CONTRACT.md puts the cancel's outcomes on the plan-change events subject.
      outcomeSubject: `evt.plan-change.${body.clientAccountId}`,
      msgId: cancelId,
      body,
      label: `cancel ${cancelId}`,
      isOutcome: (event) => event.type.startsWith('opensim.plan-change-cancel.') && event.data.cancelId === cancelId,
      describe: (event) => {
        const detail = outcomeOf(event) === 'applied' ? `the change scheduled on ${String(event.data.lineId)} is cancelled, its target released` : reasonDetail(event);
        return `${outcomeOf(event).padEnd(9)} cancel ${cancelId} of plan-change ${body.requestId}: ${detail}`;
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
