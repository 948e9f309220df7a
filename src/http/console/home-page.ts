import type { Service } from '../../domain/index.js';
import { day, lineState, serviceState } from './format.js';
import { html, page } from './html.js';
import type { LineSummary } from './reads.js';

/** `/`: "Recherchez votre client ou le service à l'aide des filtres", then the services as the portal lists them. */
export function homePage(query: string, found: { services: Service[]; lines: LineSummary[] }): string {
  return page(
    'Mes Services',
    html`<h1>Mes Services · Paramétrage / Monitoring</h1>
<form class="search" method="get" action="/" role="search">
<label for="q">Client, compte client, service ou numéro</label>
<input id="q" name="q" type="search" value="${query}" autocomplete="off" placeholder="CA-100237, SRV-OPENSIM-000142, 06 12 34 56 78…">
<button type="submit">Rechercher</button>
<a class="button secondary" href="/">Réinitialiser</a>
</form>
${found.lines.length > 0 ? linesTable(found.lines) : ''}
<table class="list" aria-label="Services">
<thead><tr><th scope="col">Réf. du service</th><th scope="col">Nom du service</th><th scope="col">Client</th><th scope="col">Compte client</th><th scope="col">Site</th><th scope="col">Type de service</th><th scope="col">État du service</th><th scope="col">Action</th></tr></thead>
<tbody>
${found.services.length === 0 ? html`<tr><td colspan="8">Aucun service ne correspond à « ${query} ».</td></tr>` : ''}
${found.services.map(
  (s) => html`<tr><td>${s.serviceRef}</td><td>${(s as Service & { name?: string }).name ?? '—'}</td><td>${s.clientName ?? '—'}</td><td>${s.clientAccountId}</td><td>${s.site ?? '—'}</td><td>OpenSIM</td><td>${serviceState(s.state)}</td><td><a class="button" href="/services/${encodeURIComponent(s.serviceRef)}">Paramétrer</a></td></tr>`,
)}
</tbody>
</table>
<form method="post" action="/logout" class="logout"><button type="submit" class="secondary">Se déconnecter</button></form>`,
  );
}

function linesTable(lines: LineSummary[]) {
  return html`<table class="list" aria-label="Lignes trouvées">
<thead><tr><th scope="col">Numéro</th><th scope="col">Utilisateur</th><th scope="col">Service</th><th scope="col">Date d'activation</th><th scope="col">État</th><th scope="col">Action</th></tr></thead>
<tbody>
${lines.map((l) => html`<tr><td>${l.number}</td><td>${l.user ?? 'NC'}</td><td>${l.serviceRef}</td><td>${day(l.activatedAt)}</td><td>${lineState(l.state)}</td><td><a class="button" href="/lines/${encodeURIComponent(l.lineId)}">Détails</a></td></tr>`)}
</tbody>
</table>`;
}
