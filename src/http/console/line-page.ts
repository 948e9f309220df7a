import type { RequestStatus } from '../../contract/queries.js';
import { consumptionSection } from './consumption.js';
import { day, lineState, moment } from './format.js';
import { html, page, type Html } from './html.js';
import type { LineCard } from './reads.js';

/**
 * `/lines/<lineId>`: "Consultation et administration d'une ressource". The recent events come
 * with the live stream (live-feed.ts), the last hour's first. The parts that change
 * (plan title, consumption, the change form's choices) are fragments with ids: the live
 * updates replace them with the same renderers' output (console-script.ts).
 */
export function linePage(card: LineCard, request: RequestStatus | null): string {
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
<section class="card" aria-labelledby="actions-title">
<h2 id="actions-title">Actions</h2>
<ul class="actions">
<li><button type="button" disabled title="Non proposé par cette console">Suspendre</button></li>
<li><button type="button" disabled title="Non proposé par cette console">Réinitialiser le mot de passe de messagerie</button></li>
<li><button type="button" disabled title="Non proposé par cette console">Envoyer un SMS</button></li>
<li>${changeForm(card)}</li>
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
 * "Changer la ressource": the service's available resources of the line's category, then
 * "Confirmer", which publishes a plan-change request as any upstream would. A native
 * <details> opens it with the keyboard and works without the script (the form posts and the
 * page comes back with the request's status).
 */
export function changeForm(card: Pick<LineCard, 'view' | 'targets'>): Html {
  const { view, targets } = card;
  return html`<details id="change-resource" class="change">
<summary>Changer la ressource</summary>
<form method="post" action="/lines/${encodeURIComponent(view.lineId)}/plan-change" id="change-form">
<label for="target">Ressource *</label>
<select id="target" name="targetResourceId" required>
<option value="">Choisir une ressource</option>
${targets.map((t) => html`<option value="${t.resourceId}">${t.productRef} ${t.label} (${t.resourceId})</option>`)}
</select>
${targets.length === 0 ? html`<p class="hint">Aucune ressource disponible de la même catégorie : commandez d'abord le forfait souhaité.</p>` : ''}
<!-- Preview (issue 15): the preview of the chosen change (envelope after it, thresholds crossed at once) goes here, before Confirmer. -->
<section id="change-preview" hidden></section>
<p class="hint">Le changement de forfait est immédiat. Lors d'un changement de ressource en cours de mois, votre forfait Data est proratisé mais le seuil de blocage ou de réduction ne l'est pas.</p>
<div class="buttons"><button type="reset" class="secondary" id="change-cancel">Annuler</button><button type="submit">Confirmer</button></div>
</form>
</details>`;
}

/** The outcome of a request, in the contract's words with the portal's. */
export function requestStatusText(status: RequestStatus): Html {
  const at = status.effectiveAt ?? status.decidedAt;
  return html`<span class="outcome outcome-${status.status}" data-request-id="${status.requestId}" data-status="${status.status}">Demande ${status.requestId} : <strong>${status.status}</strong>${status.reason ? ` (${status.reason})` : ''}${at ? ` — ${moment(at)}` : ''}</span>`;
}
