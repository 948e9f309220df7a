import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NatsConnection } from 'nats';
import type { Logger } from '../../logging/logger.js';
import type { PreviewReadDeps } from '../../queries/plan-change-preview.js';
import { readChangePreview, previewContent } from './change-preview.js';
import { parseWhen } from './change-timing.js';
import { cancelStatusText, requestStatusText } from './outcome-text.js';
import type { ChangeSelection } from './line-page.js';
import type { LineCard } from './reads.js';
import { fieldsOf, readBody, redirect, sendJson, wantsJson } from './respond.js';
import { submitPlanChange, submitPlanChangeCancel } from './submit-plan-change.js';

export interface LineActionDeps {
  reads: PreviewReadDeps;
  nats: () => NatsConnection | undefined;
  prefix: string;
  logger: Logger;
}

const pageOf = (lineId: string) => `/lines/${encodeURIComponent(lineId)}`;

/**
 * The line page's actions. Each answers JSON to the page's script (202 with the pending status
 * as the page shows it, so the script renders nothing itself) and a redirect back to the page to
 * a plain form post. The console decides nothing: requests go through NATS, the preview through
 * the preview query's reader.
 */
export function lineActions(deps: LineActionDeps) {
  const submitDeps = { collections: deps.reads.collections, clock: deps.reads.clock, prefix: deps.prefix };

  /** The change being prepared, from the query string (the preview endpoint, or « Voir l'aperçu » without the script). */
  async function selectionOf(req: IncomingMessage, card: LineCard): Promise<(ChangeSelection & { outcome: string }) | { status: 400 | 404; code: string; message: string } | null> {
    const params = new URL(req.url ?? '/', 'http://console').searchParams;
    const targetResourceId = params.get('targetResourceId');
    const when = parseWhen(params.get('when') ?? undefined);
    if (!targetResourceId || when === null) return null;
    const read = await readChangePreview(deps.reads, card.view.lineId, targetResourceId, when);
    if ('status' in read) return read;
    const target = card.targets.find((t) => t.resourceId === targetResourceId);
    return { targetResourceId, when, outcome: read.preview.outcome, preview: previewContent(read.preview, target) };
  }

  return {
    /** POST /lines/<id>/plan-change {targetResourceId, when}: « Confirmer ». */
    async changePlan(req: IncomingMessage, res: ServerResponse, lineId: string): Promise<void> {
      const fields = await fieldsFrom(req);
      const when = parseWhen(fields.when);
      if (!fields.targetResourceId || when === null) return sendJson(res, 400, { error: { code: 'INVALID_PAYLOAD', message: 'targetResourceId is required, and when is now or next-month' } });
      const submitted = await submitPlanChange(submitDeps, deps.nats(), lineId, fields.targetResourceId, when);
      if ('status' in submitted) return sendJson(res, submitted.status, { error: { code: submitted.code, message: submitted.message } });
      deps.logger.info({ requestId: submitted.requestId, lineId, when }, 'plan change requested from the console');
      if (!wantsJson(req)) return redirect(res, `${pageOf(lineId)}?request=${encodeURIComponent(submitted.requestId)}`);
      const pending = requestStatusText({ requestId: submitted.requestId, status: 'pending', reason: null, eventId: null, decidedAt: null, effectiveAt: null });
      sendJson(res, 202, { requestId: submitted.requestId, html: pending.text });
    },

    /** POST /lines/<id>/plan-change-cancel {requestId}: « Annuler le changement ». */
    async cancelChange(req: IncomingMessage, res: ServerResponse, lineId: string): Promise<void> {
      const { requestId } = await fieldsFrom(req);
      if (!requestId) return sendJson(res, 400, { error: { code: 'INVALID_PAYLOAD', message: 'requestId is required' } });
      const submitted = await submitPlanChangeCancel(submitDeps, deps.nats(), lineId, requestId);
      if ('status' in submitted) return sendJson(res, submitted.status, { error: { code: submitted.code, message: submitted.message } });
      deps.logger.info({ cancelId: submitted.cancelId, requestId, lineId }, 'plan change cancel requested from the console');
      // Without the script, the page shows the cancelled request's own status (cancelled once decided).
      if (!wantsJson(req)) return redirect(res, `${pageOf(lineId)}?request=${encodeURIComponent(requestId)}`);
      sendJson(res, 202, { cancelId: submitted.cancelId, html: cancelStatusText({ cancelId: submitted.cancelId, requestId, status: 'pending', reason: null }).text });
    },

    /** GET /lines/<id>/plan-change-preview?targetResourceId=&when=: the preview, as the fragment the page shows. */
    async preview(req: IncomingMessage, res: ServerResponse, card: LineCard): Promise<void> {
      const selection = await selectionOf(req, card);
      if (!selection) return sendJson(res, 400, { error: { code: 'INVALID_PAYLOAD', message: 'targetResourceId is required, and when is now or next-month' } });
      if ('status' in selection) return sendJson(res, selection.status, { error: { code: selection.code, message: selection.message } });
      sendJson(res, 200, { outcome: selection.outcome, html: selection.preview.text });
    },

    selection: selectionOf,
  };
}

async function fieldsFrom(req: IncomingMessage): Promise<Record<string, string>> {
  const body = await readBody(req);
  return body === null ? {} : fieldsOf(req, body);
}
