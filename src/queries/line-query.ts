import type { Clock } from '../runtime/clock.js';
import { queryError, type QueryError } from '../contract/queries.js';
import { lineView, scheduledChangeView, type LineView, type Product } from '../domain/index.js';
import type { Collections, LineDocument } from '../store/documents.js';
import type { References } from '../store/plan-change-store.js';
import { toRecord } from '../store/to-record.js';

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

/** The document fields the view derives from; `updatedAt` is absent on a line not written since it was seeded. */
function sourceOf(doc: LineDocument) {
  return {
    line: doc.line,
    clientAccountId: doc.clientAccountId,
    month: doc.month,
    enforcement: doc.enforcement ?? null,
    scheduledChange: scheduledChangeView(doc.line),
    version: doc.version,
    updatedAt: doc.updatedAt ?? null,
  };
}

export function isQueryError(value: object): value is QueryError {
  return 'error' in value;
}
