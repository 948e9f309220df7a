import type { RequestStatus } from '../../contract/queries.js';
import type { When } from './change-timing.js';
import { consumptionSection } from './consumption.js';
import { day, lineState, longDay, moment } from './format.js';
import { html, page, type Html } from './html.js';
import { requestStatusText } from './outcome-text.js';
import type { LineCard } from './reads.js';

/** A change being prepared without the script (« Voir l'aperçu » reloads the page): the choices made and their preview. */
export interface ChangeSelection {
  targetResourceId: string;
  when: When;
  preview: Html;
}

/**
 * `/lines/<lineId>`: "Consultation et administration d'une ressource". The recent events come
 * with the live stream (live-feed.ts), the last hour's first. The parts that change
 * (plan title, consumption, the change form's choices) are fragments with ids: the live
 * updates replace them with the same renderers' output (console-script.ts).
 */
export function linePage(card: LineCard, request: RequestStatus | null, selection?: ChangeSelection): string {
  const { view, summary, service } = card;
  return page(
    `Ligne ${summary.number}`,
    html`<nav class="crumbs" aria-label="Fil d'Ariane"><a href="/">Mes Services</a> › <a href="/services/${encodeURIComponent(view.serviceRef)}">${view.serviceRef}</a> › ${summary.number}</nav>
<article id="line" data-line-id="${view.lineId}">
<p class="lede">Consultation et administration d'une ressource${service?.clientName ? ` · ${service.clientName}` : ''} · compte client ${view.clientAccountId}</p>
${planTitle(card)}
<table class="facts-grid" aria-label="La ligne">
<thead><tr><th scope="col">Numéro</th><th scope="col">Utilisateur</th><th scope="col">Carte SIM</th><th scope="col">RIO</th></tr></thead>
<tbody><tr><td>${summary.number}</td><td>${summary.user ?? 'NC'}</td><td>${card.sim}</td><td>${card.rio ?? 'NC'}</td></tr></tbody>
<thead><tr><th scope="col">Profil mobile</th><th scope="col">Réseau</th><th scope="col">Date d'activation</th><th scope="col">État</th></tr></thead>
<tbody><tr><td>Open SIM</td><td>SFR</td><td>${day(summary.activatedAt)}</td><td>${lineState(view.state)}</td></tr></tbody>
</table>
${consumptionSection(view)}
${scheduledChangeSection(card)}
<section class="card" aria-labelledby="actions-title">
<h2 id="actions-title">Actions</h2>
<ul class="actions">
<li><button type="button" disabled title="Non proposé par cette console">Suspendre</button></li>
<li><button type="button" disabled title="Non proposé par cette console">Réinitialiser le mot de passe de messagerie</button></li>
<li><button type="button" disabled title="Non proposé par cette console">Envoyer un SMS</button></li>
<li>${changeForm(card, selection)}</li>
<li><button type="button" disabled title="Non proposé par cette console">Résilier</button></li>
</ul>
<p id="request-status" role="status" aria-live="polite">${request ? requestStatusText(request) : ''}</p>
</section>
<section class="card" aria-labelledby="events-title">
<h2 id="events-title">Événements récents</h2>
<p id="live-status" class="live">Mises à jour en direct : connexion…</p>
<ol id="event-list" class="events"></ol>
</section>
</article>`,
    { script: true },
  );
}

export function planTitle(card: Pick<LineCard, 'view'>): Html {
  const { plan } = card.view;
  return html`<h1 id="plan-title">#${plan.productRef} ${plan.label}</h1>`;
}

/**
 * "Changer la ressource": the service's available resources of the line's category, when it
 * takes effect (« maintenant » or « au début du mois prochain »), the preview of that change,
 * then "Confirmer", which publishes a plan-change request as any upstream would. A native
 * <details> opens it with the keyboard. Without the script it still works: « Voir l'aperçu »
 * reloads the page with the preview, « Confirmer » posts and the page comes back with the
 * request's status. The script shows the preview as soon as a choice changes.
 */
export function changeForm(card: Pick<LineCard, 'view' | 'targets' | 'nextMonthStart'>, selection?: ChangeSelection): Html {
  const { view, targets } = card;
  const when = selection?.when ?? 'now';
  const lineUrl = `/lines/${encodeURIComponent(view.lineId)}`;
  return html`<details id="change-resource" class="change"${selection ? html` open` : ''}>
<summary>Changer la ressource</summary>
<form method="post" action="${lineUrl}/plan-change" id="change-form" data-preview-url="${lineUrl}/plan-change-preview">
<label for="target">Ressource *</label>
<select id="target" name="targetResourceId" required>
<option value="">Choisir une ressource</option>
${targets.map((t) => html`<option value="${t.resourceId}"${t.resourceId === selection?.targetResourceId ? html` selected` : ''}>${t.productRef} ${t.label} (${t.resourceId})</option>`)}
</select>
${targets.length === 0 ? html`<p class="hint">Aucune ressource disponible de la même catégorie : commandez d'abord le forfait souhaité.</p>` : ''}
<fieldset class="when">
<legend>Date d'effet</legend>
<label><input type="radio" name="when" value="now"${when === 'now' ? html` checked` : ''}> Maintenant</label>
<label><input type="radio" name="when" value="next-month"${when === 'next-month' ? html` checked` : ''}> Au début du mois prochain (${longDay(card.nextMonthStart)}, 00:00)</label>
</fieldset>
${view.scheduledChange ? html`<p class="hint">Un changement est déjà programmé sur cette ligne : annulez-le d'abord (« Annuler le changement »).</p>` : ''}
<section id="change-preview" class="preview" aria-live="polite" aria-label="Aperçu du changement"${selection ? '' : html` hidden`}>${selection?.preview ?? ''}</section>
<p class="hint">Lors d'un changement de ressource en cours de mois, votre forfait Data est proratisé mais le seuil de blocage ou de réduction ne l'est pas.</p>
<div class="buttons"><button type="reset" class="secondary" id="change-cancel">Annuler</button><button type="submit" class="secondary" id="change-preview-button" formmethod="get" formaction="${lineUrl}">Voir l'aperçu</button><button type="submit" id="change-confirm">Confirmer</button></div>
</form>
</details>`;
}

/** The change waiting for its date, if any, and « Annuler le changement », which publishes a cancel as any upstream would. */
export function scheduledChangeSection(card: Pick<LineCard, 'view' | 'scheduledProduct'>): Html {
  const scheduled = card.view.scheduledChange;
  const product = card.scheduledProduct;
  return html`<section id="scheduled-change" class="card" aria-labelledby="scheduled-title">
<h2 id="scheduled-title">Changement programmé</h2>
${scheduled
  ? html`<p data-figure="scheduled" data-request-id="${scheduled.requestId}">Vers <strong>#${scheduled.to.productRef}${product ? ` ${product.label}` : ''}</strong> (${scheduled.to.resourceId}) le <time datetime="${scheduled.effectiveAt}">${moment(scheduled.effectiveAt)}</time> — demande ${scheduled.requestId}</p>
<form method="post" action="/lines/${encodeURIComponent(card.view.lineId)}/plan-change-cancel" id="cancel-form">
<input type="hidden" name="requestId" value="${scheduled.requestId}">
<button type="submit" class="secondary">Annuler le changement</button>
</form>`
  : html`<p data-figure="scheduled">Aucun</p>`}
</section>`;
}
