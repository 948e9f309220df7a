import { planChangePreviewQuerySchema } from '../../contract/queries.js';
import type { PlanChangePreview } from '../../domain/index.js';
import { readPlanChangePreview, type PreviewReadDeps } from '../../queries/plan-change-preview.js';
import { effectiveAtOf, type When } from './change-timing.js';
import { dataState, euros, gib, moment, month, reasonText, threshold } from './format.js';
import { html, type Html } from './html.js';
import { lineAddress } from './reads.js';

export type PreviewRead = { preview: PlanChangePreview } | { status: 400 | 404; code: string; message: string };

/**
 * The preview of a change asked from the page: the preview query's own reader (the worker's
 * loader, the domain's previewPlanChange, the pipeline's now), on the request the « Confirmer »
 * button would send. It writes nothing and publishes nothing.
 */
export async function readChangePreview(deps: PreviewReadDeps, lineId: string, targetResourceId: string, when: When): Promise<PreviewRead> {
  const address = await lineAddress(deps, lineId);
  if (!address) return { status: 404, code: 'UNKNOWN_LINE', message: `line '${lineId}' does not exist` };
  const effectiveAt = effectiveAtOf(when, deps.clock());
  const query = planChangePreviewQuerySchema.safeParse({ ...address, lineId, targetResourceId, ...(effectiveAt ? { effectiveAt } : {}) });
  if (!query.success) return { status: 400, code: 'INVALID_PAYLOAD', message: query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { preview: await readPlanChangePreview(deps, query.data) };
}

/**
 * What the change would do, inside #change-preview: the verdict first, then a plain warning
 * when it would reduce or block data at once (a downgrade whose thresholds, never prorated,
 * sit below the usage so far), then the figures after it.
 */
export function previewContent(preview: PlanChangePreview, target: { productRef: string; label: string } | undefined): Html {
  const to = target ? html` vers <strong>#${target.productRef} ${target.label}</strong>` : '';
  if (preview.outcome === 'rejected') {
    return html`<h3 id="change-preview-title">Aperçu du changement</h3>
<p class="verdict verdict-rejected" data-outcome="rejected">Ce changement${to} serait refusé : ${reasonText(preview.reason ?? '')}.</p>`;
  }
  const { envelope, thresholds, usage } = preview;
  const when = preview.outcome === 'scheduled' ? html`serait planifié : il prendrait effet le ${moment(preview.effectiveAt)} (heure de Paris)` : html`serait appliqué immédiatement`;
  return html`<h3 id="change-preview-title">Aperçu du changement</h3>
<p class="verdict" data-outcome="${preview.outcome}">Le changement${to} ${when}.</p>
${atOnceWarning(preview)}
<dl class="facts">
<div><dt>Enveloppe après le changement (${month(envelope!.month)})</dt><dd data-preview="envelope">${envelope!.totalBytes === null ? 'au compteur' : gib(envelope!.totalBytes)}</dd></div>
<div><dt>Seuil de réduction</dt><dd data-preview="reduction">${gib(thresholds!.reductionBytes)}</dd></div>
<div><dt>Seuil de blocage</dt><dd data-preview="block">${gib(thresholds!.blockBytes)}</dd></div>
<div><dt>Plafond de dépense</dt><dd data-preview="cost-cap">${euros(thresholds!.costCapCents)}</dd></div>
<div><dt>Consommation de ${month(envelope!.month)} à ce jour</dt><dd data-preview="usage">${gib(usage!.usedBytes)} <small>(En France ${gib(usage!.frBytes)}, En Europe ${gib(usage!.euBytes)}) · ${euros(usage!.spendCents)}</small></dd></div>
<div><dt>Exposition hors forfait</dt><dd data-preview="exposure">${gib(preview.overageExposureBytes)}</dd></div>
<div><dt>État data après le changement</dt><dd data-preview="data-state" class="state-${preview.dataStateAfter ?? 'normal'}">${dataState(preview.dataStateAfter)}</dd></div>
<div><dt>Seuils franchis dès le changement</dt><dd data-preview="crossed">${preview.crossedAtOnce.length === 0 ? 'Aucun' : preview.crossedAtOnce.map(threshold).join(', ')}</dd></div>
</dl>`;
}

function atOnceWarning(preview: PlanChangePreview): Html | '' {
  const { usage, thresholds, crossedAtOnce, dataStateAfter } = preview;
  const used = gib(usage!.usedBytes);
  // Only an immediate change can do this: a change at the start of a month begins on zero usage.
  const instead = preview.outcome === 'applied' ? ' Programmez plutôt le changement au début du mois prochain.' : '';
  if (crossedAtOnce.includes('BLOCK')) {
    return html`<p class="alert" data-alert="blocked"><strong>Attention : la ligne sera bloquée dès le changement.</strong> Sa consommation du mois (${used}) atteint le seuil de blocage du nouveau forfait (${gib(thresholds!.blockBytes)}), qui n’est pas proratisé.${instead}</p>`;
  }
  if (dataStateAfter === 'blocked') return html`<p class="alert" data-alert="blocked"><strong>Attention : la ligne sera bloquée après le changement</strong> (état data : ${dataState(dataStateAfter)}).</p>`;
  if (crossedAtOnce.includes('REDUCTION')) {
    return html`<p class="alert" data-alert="reduced"><strong>Attention : le débit data sera réduit dès le changement.</strong> Sa consommation du mois (${used}) atteint le seuil de réduction du nouveau forfait (${gib(thresholds!.reductionBytes)}), qui n’est pas proratisé.${instead}</p>`;
  }
  if (dataStateAfter === 'reduced') return html`<p class="alert" data-alert="reduced"><strong>Attention : le débit data sera réduit après le changement</strong> (état data : ${dataState(dataStateAfter)}).</p>`;
  if (crossedAtOnce.length > 0) return html`<p class="alert" data-alert="crossed"><strong>Attention :</strong> le changement franchit aussitôt : ${crossedAtOnce.map(threshold).join(', ')}.</p>`;
  return '';
}
