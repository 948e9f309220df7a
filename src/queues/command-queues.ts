import { partitionTag } from './intake-keys.js';
import type { PlanChangeCancel, PlanChangeRequest, ResourceOrder } from '../contract/messages.js';

/**
 * Commands go to partitioned BullMQ queues, one job at a time per partition (global concurrency
 * 1). The partition is chosen by the client account: every command of an account — its plan
 * changes, resource orders and cancels — is then taken up in stream order, so per-line order
 * holds (a line belongs to one account) and a cancel never overtakes the request it cancels.
 * That two lines never hold one resource is MongoDB's to enforce (the unique `holds` index),
 * not the queues'. Different accounts run in parallel across partitions.
 */
export type CommandJob = (
  | { kind: 'plan-change'; subject: string; request: PlanChangeRequest; receivedAt: string; seq?: number }
  | { kind: 'resource-order'; subject: string; order: ResourceOrder; receivedAt: string; seq?: number }
  | { kind: 'plan-change-cancel'; subject: string; cancel: PlanChangeCancel; receivedAt: string; seq?: number }
) &
  JobTrace;

/**
 * The W3C trace context of the intake span that took the command in, while tracing is on
 * (docs/operations.md, "Tracing"): the worker's spans continue that trace. Absent otherwise, and in jobs of
 * earlier versions.
 */
export interface JobTrace {
  traceparent?: string;
  tracestate?: string;
}

/** Whether a job's data is a command this code knows (a corrupt or foreign job is not: it fails at once, terminally). */
export function isCommandJob(data: unknown): data is CommandJob {
  const job = data as Partial<Record<string, unknown>> | null;
  if (!job || typeof job !== 'object') return false;
  const body = { 'plan-change': job.request, 'resource-order': job.order, 'plan-change-cancel': job.cancel }[job.kind as CommandJob['kind']];
  return typeof body === 'object' && body !== null;
}

/** The partition key of a command: its client account. */
export function accountOf(job: CommandJob): string {
  switch (job.kind) {
    case 'plan-change':
      return job.request.clientAccountId;
    case 'resource-order':
      return job.order.clientAccountId;
    case 'plan-change-cancel':
      return job.cancel.clientAccountId;
    default: {
      const unknown: never = job;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The command as upstream sent it (a dead letter keeps it, so it can be published again). */
export function bodyOf(job: CommandJob): object {
  return job.kind === 'plan-change' ? job.request : job.kind === 'resource-order' ? job.order : job.cancel;
}

export function messageIdOf(job: CommandJob): string {
  switch (job.kind) {
    case 'plan-change':
      return job.request.requestId;
    case 'resource-order':
      return job.order.orderId;
    case 'plan-change-cancel':
      return job.cancel.cancelId;
    default: {
      const unknown: never = job;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** FNV-1a: stable across processes and versions, so an account always maps to one partition. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** The queue of command partition `partition`, under the partition's hash tag (intake-keys.ts). */
export function commandQueueName(prefix: string, partition: number): string {
  return `${prefix}-commands-${partitionTag(prefix, partition)}`;
}

/** The queues of earlier versions, without a hash tag: drained, never written to again (partitioning.ts). */
export function legacyCommandQueueName(prefix: string, partition: number): string {
  return `${prefix}-commands-${partition}`;
}

/**
 * BullMQ refuses ':' in custom ids; '~' cannot occur in a request or order id, so the mapping
 * stays one to one. A resend after a failure appends `@<stream sequence>` ('@' cannot occur either).
 */
export function commandJobId(job: CommandJob): string {
  const kind = { 'plan-change': 'pc', 'resource-order': 'ro', 'plan-change-cancel': 'pcc' }[job.kind];
  return `${kind}_${messageIdOf(job).replaceAll(':', '~')}`;
}
