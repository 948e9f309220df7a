import type { CloudEvent } from '../../contract/messages.js';
import { dataState, gib, moment, threshold, euros } from './format.js';
import { html, type Html } from './html.js';

/** One event of the line in "Événements récents": when, what, and its figures in words. */
export function eventItem(event: CloudEvent): Html {
  return html`<li data-event-id="${event.id}" data-time="${event.time}"><time datetime="${event.time}">${moment(event.time)}</time> <strong>${titleOf(event.type)}</strong> ${summaryOf(event)}</li>`;
}

const TITLES: Record<string, string> = {
  'opensim.envelope.recomputed': 'Enveloppe recalculée',
  'opensim.usage.updated': 'Consommation mise à jour',
  'opensim.threshold.crossed': 'Seuil franchi',
  'opensim.line.data-state.changed': 'État data modifié',
  'opensim.plan-change.applied': 'Changement de ressource : appliqué',
  'opensim.plan-change.rejected': 'Changement de ressource : refusé',
  'opensim.plan-change.failed': 'Changement de ressource : échoué',
  'opensim.plan-change.scheduled': 'Changement de ressource : planifié',
  'opensim.plan-change.cancelled': 'Changement de ressource : annulé',
  'opensim.plan-change-cancel.applied': 'Annulation du changement : appliquée',
  'opensim.plan-change-cancel.rejected': 'Annulation du changement : refusée',
};

function titleOf(type: string): string {
  return TITLES[type] ?? type;
}

function summaryOf(event: CloudEvent): string {
  const d = event.data as Record<string, unknown> & { usage?: { usedBytes?: number }; envelope?: { totalBytes?: number | null }; to?: { productRef?: string }; from?: { productRef?: string } };
  const bytes = (value: unknown) => (typeof value === 'number' ? gib(value) : '—');
  switch (event.type) {
    case 'opensim.usage.updated':
      return `utilisé ${bytes(d.usage?.usedBytes)}, restant ${bytes(d.remainingBytes)}, ${dataState(String(d.dataState))}`;
    case 'opensim.envelope.recomputed':
      return `enveloppe ${bytes(d.envelope?.totalBytes)} (${String(d.cause)}), ${dataState(String(d.dataState))}`;
    case 'opensim.threshold.crossed':
      return `${threshold(String(d.threshold))} : ${d.threshold === 'COST_CAP' ? euros(Number(d.limit)) : bytes(d.limit)} atteint`;
    case 'opensim.line.data-state.changed':
      return `${dataState(String(d.from))} → ${dataState(String(d.to))} (${String(d.reason)})`;
    case 'opensim.plan-change.applied':
      return `${d.from?.productRef ?? ''} → ${d.to?.productRef ?? ''}, enveloppe ${bytes(d.envelope?.totalBytes)} — demande ${String(d.requestId)}`;
    case 'opensim.plan-change.rejected':
      return `${String(d.reason)} : ${String(d.message)} — demande ${String(d.requestId)}`;
    case 'opensim.plan-change.scheduled':
      return `vers ${d.to?.productRef ?? ''}, le ${moment(typeof d.effectiveAt === 'string' ? d.effectiveAt : null)} — demande ${String(d.requestId)}`;
    case 'opensim.plan-change.cancelled':
      return `par ${String(d.cancelId)} — demande ${String(d.requestId)}`;
    case 'opensim.plan-change.failed':
      return `${String(d.error)} après ${String(d.attempts)} tentatives — demande ${String(d.requestId)}`;
    default:
      return d.requestId ? `demande ${String(d.requestId)}` : '';
  }
}
