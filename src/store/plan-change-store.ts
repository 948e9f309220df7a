import { heldResources, InconsistentStateError, resourceStateOn, type ChangePlanState, type Line, type LineMonth, type Product, type Resource, type Service } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import {
  DECIDED_REQUEST_IDS_KEPT,
  requestKey,
  type Collections,
  type LineDecision,
  type LineDocument,
  type OutboxEntry,
  type ProductDocument,
  type RequestDocument,
  type ResourceDocument,
  type ServiceDocument,
} from './documents.js';
import { writeLine, type LineWriteResult } from './line-writes.js';
import { ReferenceCache } from './reference-cache.js';
import { insertOnce } from './insert-once.js';
import { toRecord } from './to-record.js';

export interface LoadedPlanChange {
  state: ChangePlanState;
  lineDoc: LineDocument | null;
  /** The durable record of an earlier decision about this request, if any. */
  recorded: RequestDocument | null;
}

/**
 * Reads everything `changePlan` needs: the line, both services, the target and the line that
 * holds it (the truth of whether it is free), the products of its history, and any earlier
 * decision. The reads that do not depend on each other go together.
 */
export async function loadPlanChange(c: Collections, references: References, request: PlanChangeRequest): Promise<LoadedPlanChange> {
  const [recorded, lineDoc, target, holder] = await Promise.all([
    findDecision(c, request.requestId),
    c.lines.findOne({ _id: request.lineId }),
    c.resources.findOne({ _id: request.targetResourceId }),
    c.lines.findOne({ holds: request.targetResourceId }, { projection: { 'line.activeResourceId': 1, 'line.scheduledChange': 1 } }),
  ]);
  const line = lineDoc?.line ?? null;
  const productRefs = unique([...(line?.planHistory.map((h) => h.productRef) ?? []), target?.productRef]);
  const [services, products] = await Promise.all([
    references.services.getMany(unique([line?.serviceRef, request.serviceRef])),
    references.products.getMany(productRefs),
  ]);
  return {
    lineDoc,
    recorded,
    state: {
      line,
      services: Object.fromEntries(services.map((s) => [s._id, toRecord(s) as Service])),
      currentResource: line ? currentResourceOf(line) : null,
      // Whether it is free is the lines' to say: active on one, reserved by one's scheduled change, or neither.
      targetResource: target ? { ...asResource(target), state: holder ? resourceStateOn(holder.line, target._id) : 'available' } : null,
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
  // Every line is registered with its activation: a line without history is corrupt, not a line on no product.
  if (!last) throw new InconsistentStateError(`line '${line.lineId}' has no plan history`);
  return { resourceId: line.activeResourceId, serviceRef: line.serviceRef, productRef: last.productRef, state: 'active' };
}

/** The resource's own facts; whether it is free comes from the lines (`holds`), not from here. */
function asResource(doc: ResourceDocument): Resource {
  return toRecord(doc, ['lineId', 'outbox', 'pv']) as Resource;
}

/** A decision to commit on the line: what it records, the state it changes (if applied), its events. */
export interface LineCommit {
  decision: LineDecision;
  /** The line (and its month record) after the decision, when it changes them. */
  change?: { line: Line; month?: LineMonth | null };
  outbox: OutboxEntry[];
  now: string;
  /** The request is already in the line's decided list (scheduled before): record the decision only. */
  decidedBefore?: boolean;
  /** A cancel decided with it, recorded so that its redelivery changes nothing more. */
  cancelId?: string;
}

/**
 * The commit point of every decision about a request on a line — applied, rejected or failed:
 * the line's one guarded write (line-writes.ts), with the decision, the state it changes and
 * its events. A writer that decided on a state that is no longer the line's (it stalled past
 * its job lock, say) finds the guard lost and decides again on what is there. A failure is
 * recorded but does not count as decided for the domain: a later message with the same
 * request id (a resend, `opensim dlq retry`) is a new decision.
 */
export async function commitOnLine(c: Collections, lineDoc: Pick<LineDocument, '_id' | 'version'>, commit: LineCommit): Promise<LineWriteResult> {
  const { decision, change } = commit;
  const counted = decision.outcome !== 'failed' && !commit.decidedBefore;
  return writeLine(
    c,
    {
      lineId: lineDoc._id,
      version: lineDoc.version,
      set: change ? { line: change.line, ...(change.month !== undefined ? { month: change.month } : {}), holds: heldResources(change.line) } : {},
      push: {
        ...(counted ? { decidedRequestIds: { $each: [decision.requestId], $slice: -DECIDED_REQUEST_IDS_KEPT } } : {}),
        ...(commit.cancelId ? { decidedCancelIds: { $each: [commit.cancelId], $slice: -DECIDED_REQUEST_IDS_KEPT } } : {}),
        decisions: { $each: [decision], $slice: -DECIDED_REQUEST_IDS_KEPT },
      },
      outbox: commit.outbox,
    },
    commit.now,
  );
}

/** The decision a line holds about a request, if it is still in its bounded list. */
export function decisionOnLine(lineDoc: Pick<LineDocument, 'decidedRequestIds' | 'decisions'> | null, requestId: string): LineDecision | null {
  if (!lineDoc) return null;
  const found = [...(lineDoc.decisions ?? [])].reverse().find((d) => d.requestId === requestId);
  if (found) return found;
  // Lines decided on before `decisions` existed recorded applied changes only.
  return lineDoc.decidedRequestIds.includes(requestId) ? { requestId, clientAccountId: '', outcome: 'applied', reason: null, eventId: '', decidedAt: '' } : null;
}

const PROJECTION_ROUNDS = 20;

/**
 * Brings the documents of these resources in line with the truth: which line holds each now.
 * Each is a compare-and-set on the projection's version `pv`, read *before* the truth: a writer
 * that read an older truth (it stalled, say) finds `pv` moved and reads again, so the last
 * write always reflects the lines as they are. Idempotent; run after every commit that moves a
 * resource, and by any retry.
 */
export async function projectResources(c: Collections, resourceIds: readonly string[]): Promise<void> {
  await Promise.all(unique([...resourceIds]).map((id) => projectResource(c, id)));
}

async function projectResource(c: Collections, resourceId: string): Promise<void> {
  for (let round = 0; round < PROJECTION_ROUNDS; round++) {
    const doc = await c.resources.findOne({ _id: resourceId }, { projection: { state: 1, lineId: 1, pv: 1 } });
    if (!doc) return;
    const holder = await c.lines.findOne({ holds: resourceId }, { projection: { 'line.activeResourceId': 1, 'line.scheduledChange': 1 } });
    const wanted = holder ? { state: resourceStateOn(holder.line, resourceId), lineId: holder._id } : { state: 'available' as const, lineId: null };
    if (doc.state === wanted.state && (doc.lineId ?? null) === wanted.lineId) return;
    // findOneAndUpdate, not updateOne: the test server looks a guarded update's document up by _id only in findAndModify (docs/testing.md).
    // `pv: null` also matches a document never projected (no `pv` yet).
    const written = await c.resources.findOneAndUpdate({ _id: resourceId, pv: (doc.pv ?? null) as number }, { $set: { ...wanted, pv: (doc.pv ?? 0) + 1 } }, { projection: { _id: 1 } });
    if (written) return;
  }
  throw new Error(`resource '${resourceId}' kept changing for ${PROJECTION_ROUNDS} rounds`);
}

/**
 * The durable record of a decision (`requests`), written from what the line committed, so every
 * writer writes the same one. It outlives JetStream's duplicate window, BullMQ's job retention
 * and the line's bounded list. A failure's record gives way to a later decision of the same
 * request (a resend, a retry), and a schedule's to what became of it; never the reverse.
 */
export async function recordDecision(c: Collections, decision: Omit<RequestDocument, '_id' | 'kind'> & { requestId: string }): Promise<void> {
  const { requestId, ...rest } = decision;
  const doc: RequestDocument = { _id: requestKey('plan-change', requestId), kind: 'plan-change', ...rest };
  for (let round = 0; round < PROJECTION_ROUNDS; round++) {
    if (await insertOnce(c.requests, doc)) return;
    const existing = await c.requests.findOne({ _id: doc._id }, { projection: { outcome: 1, seq: 1 } });
    if (!existing || !givesWay(existing, doc)) return;
    const replaced = await c.requests.findOneAndReplace({ _id: doc._id, outcome: existing.outcome, seq: (existing.seq ?? null) as number }, doc, { projection: { _id: 1 } });
    if (replaced) return;
  }
}

/** Whether a recorded decision gives way to another one of the same request. */
function givesWay(existing: Pick<RequestDocument, 'outcome' | 'seq'>, next: Pick<RequestDocument, 'outcome' | 'seq'>): boolean {
  if (existing.outcome === 'failed') return !(next.outcome === 'failed' && next.seq === existing.seq);
  return existing.outcome === 'scheduled' && next.outcome !== 'scheduled';
}

export async function findDecision(c: Collections, requestId: string): Promise<RequestDocument | null> {
  return c.requests.findOne({ _id: requestKey('plan-change', requestId) });
}

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}
