import type { Service } from '../../domain/index.js';
import { day, resourceState, serviceState } from './format.js';
import { html, page } from './html.js';
import type { ResourceRow } from './reads.js';

/** A service's "Paramétrer" page, on its Ressources tab: each resource, the line it is active on, and "Détails". */
export function servicePage(service: Service, resources: ResourceRow[]): string {
  return page(
    `Service ${service.serviceRef}`,
    html`<nav class="crumbs" aria-label="Fil d'Ariane"><a href="/">Mes Services</a> › ${service.serviceRef}</nav>
<h1>${service.serviceRef} · ${service.clientName ?? service.clientAccountId}</h1>
<p class="lede">Compte client ${service.clientAccountId} · ${service.site ?? 'site NC'} · OpenSIM · ${serviceState(service.state)}</p>
<nav class="tabs" aria-label="Onglets du service"><a href="/services/${encodeURIComponent(service.serviceRef)}" aria-current="page">Ressources</a></nav>
<table class="list" aria-label="Ressources">
<thead><tr><th scope="col">Ressource</th><th scope="col">Numéro</th><th scope="col">Utilisateur</th><th scope="col">Date d'activation</th><th scope="col">État</th><th scope="col">Action</th></tr></thead>
<tbody>
${resources.length === 0 ? html`<tr><td colspan="6">Aucune ressource.</td></tr>` : ''}
${resources.map(
  (r) => html`<tr data-resource="${r.resourceId}"><td><span class="ref">${r.productRef}</span> ${r.label}<br><small>${r.resourceId}</small></td><td>${r.line?.number ?? ''}</td><td>${r.line?.user ?? ''}</td><td>${r.line ? day(r.line.activatedAt) : ''}</td><td>${resourceState(r.state)}</td><td>${r.line ? html`<a class="button" href="/lines/${encodeURIComponent(r.line.lineId)}">Détails</a>` : ''}</td></tr>`,
)}
</tbody>
</table>`,
  );
}
