import type { ChangePlanState, Line, LineMonth, Product, Resource, Service } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import { ConcurrentUpdateError } from '../workers/errors.js';
import {
  DECIDED_REQUEST_IDS_KEPT,
  requestKey,
  type Collections,
  type LineDocument,
  type OutboxEntry,
  type RequestDocument,
} from './documents.js';
import { insertOnce } from './insert-once.js';
import { toRecord } from './strip.js';

export interface LoadedPlanChange {
  state: ChangePlanState;
  lineDoc: LineDocument | null;
}

/** Reads everything `changePlan` needs: the line, both services, both resources, the products of its history. */
export async function loadPlanChange(c: Collections, request: PlanChangeRequest): Promise<LoadedPlanChange> {
  const lineDoc = await c.lines.findOne({ _id: request.lineId });
  const line = lineDoc?.line ?? null;
  const [services, resources] = await Promise.all([
    c.services.find({ _id: { $in: unique([line?.serviceRef, request.serviceRef]) } }).toArray(),
    c.resources.find({ _id: { $in: unique([line?.activeResourceId, request.targetResourceId]) } }).toArray(),
  ]);
  const resourceById = new Map(resources.map((r) => [r._id, toRecord(r, ['lineId', 'outbox']) as Resource]));
  const productRefs = unique([...(line?.planHistory.map((h) => h.productRef) ?? []), ...resources.map((r) => r.productRef)]);
  const products = await c.products.find({ _id: { $in: productRefs } }).toArray();
  return {
    lineDoc,
    state: {
      line,
      services: Object.fromEntries(services.map((s) => [s._id, toRecord(s) as Service])),
      currentResource: line ? (resourceById.get(line.activeResourceId) ?? null) : null,
      targetResource: resourceById.get(request.targetResourceId) ?? null,
      products: Object.fromEntries(products.map((p) => [p._id, toRecord(p) as Product])),
      month: lineDoc?.month ?? null,
      decidedRequestIds: lineDoc?.decidedRequestIds ?? [],
    },
  };
}

/**
 * The commit point of a plan change: the line, its month record, the request id and the
 * events, in one update guarded by the version read. A concurrent writer makes it fail
 * (transient: the job re-reads and decides again).
 */
export async function commitAppliedChange(
  c: Collections,
  lineDoc: LineDocument,
  change: { requestId: string; line: Line; month: LineMonth; outbox: OutboxEntry[] },
): Promise<void> {
  const updated = await c.lines.findOneAndUpdate(
    { _id: lineDoc._id, version: lineDoc.version },
    {
      $set: { line: change.line, month: change.month },
      $inc: { version: 1 },
      $push: {
        decidedRequestIds: { $each: [change.requestId], $slice: -DECIDED_REQUEST_IDS_KEPT },
        outbox: { $each: change.outbox },
      },
    },
    { returnDocument: 'after', projection: { _id: 1 } },
  );
  if (!updated) throw new ConcurrentUpdateError(`line '${lineDoc._id}' changed since version ${lineDoc.version}`);
}

/**
 * Resource states follow the line (the commit point): the line's active resource is `active`
 * on it, the one it left is `available`. Idempotent, so a job retried after a crash between
 * the line write and this one repairs it.
 */
export async function syncResources(c: Collections, line: Line): Promise<void> {
  const current = line.planHistory.at(-1);
  const previous = line.planHistory.at(-2);
  await c.resources.updateOne({ _id: line.activeResourceId }, { $set: { state: 'active', lineId: line.lineId } });
  if (previous && current && previous.resourceId !== current.resourceId) {
    await c.resources.updateOne(
      { _id: previous.resourceId, lineId: line.lineId },
      { $set: { state: 'available', lineId: null } },
    );
  }
}

/**
 * The durable memory of a decision, kept after JetStream's duplicate window and BullMQ's job
 * retention have passed. A rejection's event travels in this document's outbox; an applied
 * change's events are in the line's.
 */
export async function recordDecision(
  c: Collections,
  decision: Omit<RequestDocument, '_id' | 'kind'> & { requestId: string },
): Promise<void> {
  const { requestId, ...rest } = decision;
  await insertOnce(c.requests, { _id: requestKey('plan-change', requestId), kind: 'plan-change' as const, ...rest });
}

export async function findDecision(c: Collections, requestId: string): Promise<RequestDocument | null> {
  return c.requests.findOne({ _id: requestKey('plan-change', requestId) });
}

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}
