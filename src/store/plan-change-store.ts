import { eventKeys, heldResources, InconsistentStateError, resourceStateOn, type ChangePlanState, type Line, type LineMonth, type Product, type Resource, type Service } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import {
  DECIDED_REQUEST_IDS_KEPT,
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
import { toRecord } from './to-record.js';
import { groupCommit } from './group-commit.js';
import { findDecision } from './decision-records.js';

export { findDecision, recordDecision } from './decision-records.js';
export { projectResources } from './resource-projection.js';

export interface LoadedPlanChange {
  state: ChangePlanState;
  lineDoc: LineDocument | null;
  /** The durable record of an earlier decision about this request, if any. */
  recorded: RequestDocument | null;
}

/**
 * Reads everything `changePlan` needs: the line, both services, the target and the line that
 * holds it (the truth of whether it is free), the products of its history, and any earlier
 * decision. The reads that do not depend on each other go together, each in the same round trip
 * as the same read of every other job running now (group-commit.ts).
 */
export async function loadPlanChange(c: Collections, references: References, request: PlanChangeRequest): Promise<LoadedPlanChange> {
  const gc = groupCommit(c);
  const [recorded, lineDoc, target, holder] = await Promise.all([
    findDecision(c, request.requestId),
    gc.lines.submit(request.lineId),
    gc.resources.submit(request.targetResourceId),
    gc.holders.submit(request.targetResourceId),
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
export async function commitOnLine(c: Collections, lineDoc: Pick<LineDocument, '_id' | 'version' | 'outbox'>, commit: LineCommit): Promise<LineWriteResult> {
  const { decision, change } = commit;
  const counted = decision.outcome !== 'failed' && !commit.decidedBefore;
  return writeLine(
    c,
    {
      lineId: lineDoc._id,
      version: lineDoc.version,
      asRead: { outbox: lineDoc.outbox ?? [] },
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

/** A decision about a request as its line records it; its event is named after the request and the outcome. */
export function decisionAbout(request: { requestId: string; clientAccountId: string }, outcome: LineDecision['outcome'], reason: string | null, decidedAt: string): LineDecision {
  return { requestId: request.requestId, clientAccountId: request.clientAccountId, outcome, reason, eventId: eventKeys.planChange(request.requestId, outcome), decidedAt };
}

/** The decision a line holds about a request, if it is still in its bounded list. */
export function decisionOnLine(lineDoc: Pick<LineDocument, 'decidedRequestIds' | 'decisions'> | null, requestId: string): LineDecision | null {
  if (!lineDoc) return null;
  const found = [...(lineDoc.decisions ?? [])].reverse().find((d) => d.requestId === requestId);
  if (found) return found;
  // Lines decided on before `decisions` existed recorded applied changes only.
  return lineDoc.decidedRequestIds.includes(requestId) ? { requestId, clientAccountId: '', outcome: 'applied', reason: null, eventId: '', decidedAt: '' } : null;
}

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}
