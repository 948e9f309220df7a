import type { ServerResponse } from 'node:http';
import { isQueryError, readLineView, viewsOf } from '../../queries/line-query.js';
import { readRequestStatus, type RequestReadDeps } from '../../queries/request-status.js';
import type { ConsoleReadDeps } from './reads.js';
import { segment, sendJson } from './respond.js';

/**
 * The JSON API (CONTRACT.md, HTTP): the line view of the queries, by line and by service, and
 * (an addition) a request's status. The admin token sees every account: no tenant check here.
 *   GET /api/lines/<lineId>               → the line view
 *   GET /api/services/<serviceRef>/lines  → [line view, …]
 *   GET /api/requests/<requestId>         → the request status
 */
const NOT_FOUND = { error: { code: 'NOT_FOUND', message: 'no such API route: /api/lines/<lineId>, /api/services/<serviceRef>/lines, /api/requests/<requestId>' } };

export async function answerApi(deps: ConsoleReadDeps & RequestReadDeps, parts: string[], res: ServerResponse): Promise<void> {
  const [kind, rawId, tail, ...rest] = parts;
  const id = segment(rawId);
  if (id === null || rest.length > 0) return sendJson(res, 404, NOT_FOUND);
  if (kind === 'lines' && tail === undefined) {
    const view = await readLineView(deps, id);
    return sendJson(res, isQueryError(view) ? 404 : 200, view);
  }
  if (kind === 'services' && tail === 'lines') {
    const service = await deps.collections.services.findOne({ _id: id });
    if (!service) return sendJson(res, 404, { error: { code: 'UNKNOWN_SERVICE', message: `service '${id}' does not exist` } });
    const docs = await deps.collections.lines.find({ clientAccountId: service.clientAccountId, serviceRef: id }, { projection: { outbox: 0, usagePending: 0, decidedRequestIds: 0 } }).sort({ _id: 1 }).toArray();
    return sendJson(res, 200, await viewsOf(deps, docs));
  }
  if (kind === 'requests' && tail === undefined) return sendJson(res, 200, await readRequestStatus(deps, id));
  return sendJson(res, 404, NOT_FOUND);
}
