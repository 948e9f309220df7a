import type { Clock } from '../app/clock.js';
import { queryError, type QueryError } from '../contract/queries.js';
import { lineView, type LineView, type Product, type ScheduledChangeView } from '../domain/index.js';
import type { Collections, LineDocument } from '../store/documents.js';
import type { References } from '../store/plan-change-store.js';
import { toRecord } from '../store/strip.js';

/** What the read side needs: the collections, the cached products, and the pipeline's clock (the month shown is the month of its now). */
export interface LineReadDeps {
  collections: Pick<Collections, 'lines'>;
  references: Pick<References, 'products'>;
  clock: Clock;
}

/**
 * The view of a line, read from its document. `account`, when given, is the asker's client
 * account: another account's line is TENANT_MISMATCH (checked after existence, as the
 * decisions do, so an account learns nothing about another's line beyond "not yours").
 */
export async function readLineView(deps: LineReadDeps, lineId: string, account?: string): Promise<LineView | QueryError> {
  const doc = await deps.collections.lines.findOne({ _id: lineId }, { projection: { outbox: 0, usagePending: 0, decidedRequestIds: 0 } });
  if (!doc) return queryError('UNKNOWN_LINE', `line '${lineId}' does not exist`);
  if (account !== undefined && doc.clientAccountId !== account) return queryError('TENANT_MISMATCH', `line '${lineId}' does not belong to client account '${account}'`);
  return viewOf(deps, doc);
}

/** The views of several line documents (a service's lines), products read once. */
export async function viewsOf(deps: LineReadDeps, docs: readonly LineDocument[]): Promise<LineView[]> {
  const products = await productsOf(deps, docs);
  const now = deps.clock().toISOString();
  return docs.map((doc) => lineView(sourceOf(doc), products, now));
}

export async function viewOf(deps: LineReadDeps, doc: LineDocument): Promise<LineView> {
  return lineView(sourceOf(doc), await productsOf(deps, [doc]), deps.clock().toISOString());
}

async function productsOf(deps: LineReadDeps, docs: readonly LineDocument[]): Promise<Record<string, Product>> {
  const refs = [...new Set(docs.flatMap((doc) => doc.line.planHistory.map((entry) => entry.productRef)))];
  const found = await deps.references.products.getMany(refs);
  return Object.fromEntries(found.map((p) => [p._id, toRecord(p) as Product]));
}

/**
 * The document fields the view derives from. `updatedAt` and `scheduledChange` are being added
 * to line documents (the lead's guarded write, issue 15): read when present, `null` until then.
 */
function sourceOf(doc: LineDocument) {
  const extra = doc as LineDocument & { updatedAt?: string | null; scheduledChange?: ScheduledChangeView | null };
  return {
    line: doc.line,
    clientAccountId: doc.clientAccountId,
    month: doc.month,
    enforcement: doc.enforcement ?? null,
    scheduledChange: scheduledChangeOf(extra.scheduledChange),
    version: doc.version,
    updatedAt: extra.updatedAt ?? null,
  };
}

/** Only the contract's fields: the stored record may carry more (the reservation, the request). */
function scheduledChangeOf(stored: ScheduledChangeView | null | undefined): ScheduledChangeView | null {
  if (!stored) return null;
  return { requestId: stored.requestId, to: { resourceId: stored.to.resourceId, productRef: stored.to.productRef }, effectiveAt: stored.effectiveAt };
}

export function isQueryError(value: object): value is QueryError {
  return 'error' in value;
}
