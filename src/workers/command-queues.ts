import type { PlanChangeRequest, ResourceOrder } from '../contract/messages.js';

/**
 * Plan changes and resource orders go to partitioned BullMQ queues, one job at a time per
 * partition (global concurrency 1). The partition is chosen by `serviceRef`: every write to a
 * service's lines and resources is then serialized in arrival order — per-line order, and no
 * two changes racing for one available resource — without relying on the database to
 * serialize. Different services run in parallel across partitions.
 */
export type CommandJob =
  | { kind: 'plan-change'; subject: string; request: PlanChangeRequest; receivedAt: string; seq?: number }
  | { kind: 'resource-order'; subject: string; order: ResourceOrder; receivedAt: string; seq?: number };

export function serviceRefOf(job: CommandJob): string {
  return job.kind === 'plan-change' ? job.request.serviceRef : job.order.serviceRef;
}

export function messageIdOf(job: CommandJob): string {
  return job.kind === 'plan-change' ? job.request.requestId : job.order.orderId;
}

/** FNV-1a: stable across processes and versions, so a service always maps to one partition. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export function commandQueueName(prefix: string, partition: number): string {
  return `${prefix}-commands-${partition}`;
}

/**
 * BullMQ refuses ':' in custom ids; '~' cannot occur in a request or order id, so the mapping
 * stays one to one. A resend after a failure appends `@<stream sequence>` ('@' cannot occur either).
 */
export function commandJobId(job: CommandJob): string {
  return `${job.kind === 'plan-change' ? 'pc' : 'ro'}_${messageIdOf(job).replaceAll(':', '~')}`;
}
