import type { LineView, Product, Service } from '../../domain/index.js';
import { mask } from '../../logging/logger.js';
import { viewOf, type LineReadDeps } from '../../queries/line-query.js';
import type { Collections, LineDocument, ResourceDocument } from '../../store/documents.js';
import { toRecord } from '../../store/to-record.js';
import { nextMonthStart } from './change-timing.js';

/**
 * What the console pages read, straight from the documents the pipeline writes (the line view
 * through the same function as the queries). Only equality and `$in` filters: the features
 * every supported MongoDB server has (docs/testing.md).
 */
export type ConsoleReadDeps = LineReadDeps & { collections: Pick<Collections, 'lines' | 'services' | 'resources' | 'products'> };

const LIST_LIMIT = 100;

export interface LineSummary {
  lineId: string;
  serviceRef: string;
  clientAccountId: string;
  /** MSISDN as the logs show it: the last four digits. */
  number: string;
  user: string | null;
  activatedAt: string;
  state: string;
}

export function summaryOf(doc: Pick<LineDocument, 'line' | 'clientAccountId'>): LineSummary {
  const { line } = doc;
  return { lineId: line.lineId, serviceRef: line.serviceRef, clientAccountId: doc.clientAccountId, number: line.msisdn ? mask(line.msisdn) : 'NC', user: line.user ?? null, activatedAt: line.activatedAt, state: line.state };
}

/** Services (and lines) matching what was typed: a client account, a client, a service, a line or a number. */
export async function search(deps: ConsoleReadDeps, query: string): Promise<{ services: Service[]; lines: LineSummary[] }> {
  const q = query.trim();
  const { services, lines } = deps.collections;
  if (q === '') return { services: (await services.find({}).sort({ _id: 1 }).limit(LIST_LIMIT).toArray()).map(asService), lines: [] };
  const lineDocs = await lines.find({ $or: [{ _id: q }, { 'line.msisdn': { $in: numberVariants(q) } }] }, { projection: { line: 1, clientAccountId: 1 } }).limit(LIST_LIMIT).toArray();
  const refs = [...new Set([q, ...lineDocs.map((doc) => doc.line.serviceRef)])];
  const found = await services.find({ $or: [{ _id: { $in: refs } }, { clientAccountId: q }, { clientName: q }] }).sort({ _id: 1 }).limit(LIST_LIMIT).toArray();
  return { services: found.map(asService), lines: lineDocs.map(summaryOf) };
}

/** The ways one French number is written: as typed, without separators, +33…, 0…. */
export function numberVariants(typed: string): string[] {
  const compact = typed.replace(/[\s.\-()]/g, '');
  const digits = compact.replace(/^\+/, '');
  const variants = new Set([typed, compact]);
  if (/^0\d{9}$/.test(digits)) variants.add(`+33${digits.slice(1)}`);
  if (/^33\d{9}$/.test(digits)) {
    variants.add(`+${digits}`);
    variants.add(`0${digits.slice(2)}`);
  }
  return [...variants];
}

export interface ResourceRow {
  resourceId: string;
  productRef: string;
  label: string;
  category: Product['category'] | null;
  state: string;
  line: LineSummary | null;
}

/** A service and its Ressources tab: each resource's state from its own document, the line it is active on. */
export async function serviceResources(deps: ConsoleReadDeps, serviceRef: string): Promise<{ service: Service; resources: ResourceRow[] } | null> {
  const serviceDoc = await deps.collections.services.findOne({ _id: serviceRef });
  if (!serviceDoc) return null;
  const service = asService(serviceDoc);
  const [resources, lineDocs] = await Promise.all([
    deps.collections.resources.find({ serviceRef }).sort({ _id: 1 }).toArray(),
    // By account first: the lines collection is indexed on clientAccountId.
    deps.collections.lines.find({ clientAccountId: service.clientAccountId, serviceRef }, { projection: { line: 1, clientAccountId: 1 } }).toArray(),
  ]);
  const products = await productsByRef(deps, resources.map((r) => r.productRef));
  const lineOn = new Map(lineDocs.map((doc) => [doc.line.activeResourceId, summaryOf(doc)]));
  const byId = new Map(lineDocs.map((doc) => [doc.line.lineId, summaryOf(doc)]));
  return {
    service,
    resources: resources.map((r) => ({
      resourceId: r._id,
      productRef: r.productRef,
      label: products.get(r.productRef)?.label ?? r.productRef,
      category: products.get(r.productRef)?.category ?? null,
      state: r.state,
      line: (r.lineId ? byId.get(r.lineId) : undefined) ?? (r.state === 'active' ? (lineOn.get(r._id) ?? null) : null),
    })),
  };
}

export interface LineCard {
  view: LineView;
  summary: LineSummary;
  /** ICCID as the logs show it: the SIM card identifies a subscriber as much as the number. */
  sim: string;
  rio: string | null;
  service: Service | null;
  /** "Changer la ressource": the service's available resources of the line's category. */
  targets: ResourceRow[];
  /** « Au début du mois prochain »: 00:00 Paris on the 1st of the month after the pipeline's now. */
  nextMonthStart: string;
  /** The product the scheduled change moves to (its label for the card), if one is scheduled. */
  scheduledProduct: { productRef: string; label: string } | null;
}

export async function lineCard(deps: ConsoleReadDeps, lineId: string): Promise<LineCard | null> {
  const doc = await deps.collections.lines.findOne({ _id: lineId }, { projection: { outbox: 0, usagePending: 0, decidedRequestIds: 0 } });
  if (!doc) return null;
  const [view, serviceDoc, resources] = await Promise.all([viewOf(deps, doc), deps.collections.services.findOne({ _id: doc.line.serviceRef }), availableOf(deps, doc)]);
  const scheduledRef = view.scheduledChange?.to.productRef;
  const products = await productsByRef(deps, [...resources.map((r) => r.productRef), ...(scheduledRef ? [scheduledRef] : [])]);
  const targets = resources
    .map((r) => ({ resourceId: r._id, productRef: r.productRef, label: products.get(r.productRef)?.label ?? r.productRef, category: products.get(r.productRef)?.category ?? null, state: r.state, line: null }))
    // Same category only: a line never changes category. The same product would be SAME_PLAN.
    .filter((r) => r.category === view.plan.category && r.productRef !== view.plan.productRef);
  const { line } = doc;
  return {
    view,
    summary: summaryOf(doc),
    sim: line.iccid ? mask(line.iccid) : 'NC',
    rio: line.rio ?? null,
    service: serviceDoc ? asService(serviceDoc) : null,
    targets,
    nextMonthStart: nextMonthStart(deps.clock()),
    scheduledProduct: scheduledRef ? { productRef: scheduledRef, label: products.get(scheduledRef)?.label ?? scheduledRef } : null,
  };
}

/** The line's view alone (the live updates of its card). */
export async function lineViewOf(deps: ConsoleReadDeps, lineId: string): Promise<LineView | null> {
  const doc = await deps.collections.lines.findOne({ _id: lineId }, { projection: { outbox: 0, usagePending: 0, decidedRequestIds: 0 } });
  if (!doc) return null;
  return viewOf(deps, doc);
}

/** What a request about a line names besides it: its account (the subject's token) and its service. */
export async function lineAddress(deps: { collections: Pick<Collections, 'lines'> }, lineId: string): Promise<{ clientAccountId: string; serviceRef: string } | null> {
  const doc = await deps.collections.lines.findOne({ _id: lineId }, { projection: { clientAccountId: 1, 'line.serviceRef': 1 } });
  return doc ? { clientAccountId: doc.clientAccountId, serviceRef: doc.line.serviceRef } : null;
}

/**
 * The service's free resources. Whether a resource is free is the lines' to say (`holds`, the
 * truth the decisions read); a resource document's state is a projection written just after the
 * change is published, so the card read on that event may see it late. Hence the candidates:
 * those whose document says available or reserved (a reservation cancelled reads reserved a
 * moment longer), and the resources this line had (the one it just left may still read active);
 * then whatever a line holds is dropped (a target just reserved may still read available).
 */
async function availableOf(deps: ConsoleReadDeps, doc: Pick<LineDocument, 'line'>): Promise<ResourceDocument[]> {
  const own = doc.line.planHistory.map((entry) => entry.resourceId);
  const candidates = await deps.collections.resources
    .find({ serviceRef: doc.line.serviceRef, $or: [{ state: { $in: ['available', 'reserved'] } }, { _id: { $in: own } }] })
    .sort({ _id: 1 })
    .toArray();
  const holders = await deps.collections.lines.find({ holds: { $in: candidates.map((r) => r._id) } }, { projection: { holds: 1 } }).toArray();
  const held = new Set(holders.flatMap((line) => line.holds ?? []));
  return candidates.filter((r) => !held.has(r._id));
}

async function productsByRef(deps: ConsoleReadDeps, refs: string[]): Promise<Map<string, Product>> {
  const found = await deps.references.products.getMany([...new Set(refs)]);
  return new Map(found.map((p) => [p._id, toRecord(p) as Product]));
}

function asService(doc: Service & { _id: string }): Service {
  return toRecord(doc) as Service;
}
