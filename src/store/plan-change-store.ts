import type { ChangePlanState, Line, LineMonth, Product, Resource, Service } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import { ConcurrentUpdateError } from '../workers/errors.js';
import {
  DECIDED_REQUEST_IDS_KEPT,
  requestKey,
  type Collections,
  type LineDocument,
  type OutboxEntry,
  type ProductDocument,
  type RequestDocument,
  type ResourceDocument,
  type ServiceDocument,
} from './documents.js';
import { ReferenceCache } from './reference-cache.js';
import { insertOnce } from './insert-once.js';
import { toRecord } from './strip.js';

export interface LoadedPlanChange {
  state: ChangePlanState;
  lineDoc: LineDocument | null;
}

/** Reads everything `changePlan` needs: the line, both services, both resources, the products of its history. */
export async function loadPlanChange(c: Collections, references: References, request: PlanChangeRequest): Promise<LoadedPlanChange> {
  // The line and the target in parallel: the target does not depend on the line.
  const [lineDoc, target] = await Promise.all([c.lines.findOne({ _id: request.lineId }), c.resources.findOne({ _id: request.targetResourceId })]);
  const line = lineDoc?.line ?? null;
  const productRefs = unique([...(line?.planHistory.map((h) => h.productRef) ?? []), target?.productRef]);
  const [services, products] = await Promise.all([
    references.services.getMany(unique([line?.serviceRef, request.serviceRef])),
    references.products.getMany(productRefs),
  ]);
  return {
    lineDoc,
    state: {
      line,
      services: Object.fromEntries(services.map((s) => [s._id, toRecord(s) as Service])),
      currentResource: line ? currentResourceOf(line) : null,
      targetResource: asResource(target),
      products: Object.fromEntries(products.map((p) => [p._id, toRecord(p) as Product])),
      month: lineDoc?.month ?? null,
      decidedRequestIds: lineDoc?.decidedRequestIds ?? [],
    },
  };
}

export interface References {
  products: ReferenceCache<ProductDocument>;
  services: ReferenceCache<ServiceDocument>;
}

export function references(c: Collections): References {
  return { products: new ReferenceCache(c.products), services: new ReferenceCache(c.services) };
}

/**
 * The line is the commit point of which resource is active on it, so its current resource is
 * read from the line (its last history entry), not from the resource document that follows it.
 */
function currentResourceOf(line: Line): Resource {
  const last = line.planHistory.at(-1);
  return { resourceId: line.activeResourceId, serviceRef: line.serviceRef, productRef: last?.productRef ?? '', state: 'active' };
}

function asResource(doc: ResourceDocument | null): Resource | null {
  return doc ? (toRecord(doc, ['lineId', 'outbox']) as Resource) : null;
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
  const released = previous && current && previous.resourceId !== current.resourceId ? previous.resourceId : undefined;
  // findOneAndUpdate, not updateOne: the test server looks a guarded update's document up by _id only in findAndModify (docs/testing.md).
  await Promise.all([
    c.resources.findOneAndUpdate({ _id: line.activeResourceId }, { $set: { state: 'active', lineId: line.lineId } }, { projection: { _id: 1 } }),
    // Only if it is still this line's: never release a resource another line holds.
    released ? c.resources.findOneAndUpdate({ _id: released, lineId: line.lineId }, { $set: { state: 'available', lineId: null } }, { projection: { _id: 1 } }) : undefined,
  ]);
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
