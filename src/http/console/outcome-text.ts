import type { RequestStatus, RequestStatusName } from '../../contract/queries.js';
import { moment, reasonText } from './format.js';
import { html, type Html } from './html.js';

/** A plan change's status in the portal's words: « le changement est planifié, appliqué… ». */
const CHANGE_STATUSES: Record<RequestStatusName, string> = {
  pending: 'en attente',
  scheduled: 'planifié',
  applied: 'appliqué',
  rejected: 'refusé',
  failed: 'échoué',
  cancelled: 'annulé',
  unknown: 'inconnu',
};

/** « Changement <id> : planifié — prend effet le … »; `data-status` keeps the contract's word for scripts and tests. */
export function requestStatusText(status: RequestStatus): Html {
  return html`<span class="outcome outcome-${status.status}" data-request-id="${status.requestId}" data-status="${status.status}">Changement ${status.requestId} : <strong>${CHANGE_STATUSES[status.status]}</strong>${detail(status)}</span>`;
}

function detail(status: RequestStatus): string {
  switch (status.status) {
    case 'scheduled':
      return ` — prendra effet le ${moment(status.effectiveAt)}`;
    case 'applied':
      return status.effectiveAt ? ` — effectif le ${moment(status.effectiveAt)}` : '';
    case 'cancelled':
      return status.decidedAt ? ` le ${moment(status.decidedAt)}` : '';
    case 'rejected':
    case 'failed':
      return status.reason ? ` : ${reasonText(status.reason)}` : '';
    case 'pending':
    case 'unknown':
      return '';
    default:
      return unreachable(status.status);
  }
}

export type CancelStatus = { cancelId: string; requestId: string; status: 'pending' | 'applied' | 'rejected'; reason: string | null };
const CANCEL_STATUSES: Record<CancelStatus['status'], string> = { pending: 'en attente', applied: 'appliquée', rejected: 'refusée' };

/** « Annulation <id> du changement <id> : appliquée », or refusée with the reason (NOT_SCHEDULED: already applied, or cancelled). */
export function cancelStatusText(cancel: CancelStatus): Html {
  const reason = cancel.status === 'rejected' && cancel.reason ? ` : ${reasonText(cancel.reason)}` : '';
  return html`<span class="outcome outcome-${cancel.status}" data-request-id="${cancel.cancelId}" data-status="${cancel.status}">Annulation ${cancel.cancelId} du changement ${cancel.requestId} : <strong>${CANCEL_STATUSES[cancel.status]}</strong>${reason}</span>`;
}

function unreachable(value: never): never {
  throw new Error(`unexpected status ${String(value)}`);
}
