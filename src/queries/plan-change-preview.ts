import type { Clock } from '../runtime/clock.js';
import type { PlanChangePreviewQuery } from '../contract/queries.js';
import { previewPlanChange, PREVIEW_REQUEST_ID, type PlanChangePreview } from '../domain/index.js';
import type { Collections } from '../store/documents.js';
import { loadPlanChange, type References } from '../store/plan-change-store.js';

/** What the preview reads: the worker's own loader and the pipeline's clock (the instant the change would be taken in). */
export interface PreviewReadDeps {
  collections: Collections;
  references: References;
  clock: Clock;
}

/**
 * The preview of a plan change (`opensim.qry.plan-change-preview.<account>`): the state the
 * worker would load for the request, decided by the domain's `previewPlanChange` at the
 * pipeline's now. Reads only: it writes nothing and publishes nothing. The tenant check is the
 * decision's (a rejection TENANT_MISMATCH), as the real change would say.
 */
export async function readPlanChangePreview(deps: PreviewReadDeps, query: PlanChangePreviewQuery): Promise<PlanChangePreview> {
  const now = deps.clock().toISOString();
  const request = { ...query, requestId: query.requestId ?? PREVIEW_REQUEST_ID, requestedAt: query.requestedAt ?? now };
  const loaded = await loadPlanChange(deps.collections, deps.references, request);
  return previewPlanChange(query, loaded.state, now);
}
