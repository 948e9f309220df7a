import type { LineView } from '../../domain/index.js';
import { limitOf } from '../../domain/index.js';
import { category, dataState, euros, gib, moment, month, ratio, threshold } from './format.js';
import { html, type Html } from './html.js';

/**
 * "Consommation Data" of the line card: usage against the envelope as bars (En France, En
 * Europe, total) on one scale, with the 80 %, 100 %, reduction and block marks and the overage
 * exposure; spend against the cost cap; the data state; this month's crossings (the scheduled
 * change has a section of its own, line-page.ts). Rendered on the server for the page and again for each live update (one renderer,
 * so the page and its updates cannot disagree).
 */
export function consumptionSection(view: LineView): Html {
  const { envelope, thresholds, usage } = view;
  const total = envelope.totalBytes;
  const scale = Math.max(1, total ?? 0, thresholds.blockBytes ?? 0, thresholds.reductionBytes ?? 0, usage.usedBytes) * 1.05;
  const marks = marksOf(view);
  return html`<section id="consumption" class="card" aria-labelledby="consumption-title" data-version="${view.version}">
<h2 id="consumption-title">Consommation Data <span data-figure="envelope">${total === null ? 'au compteur' : gib(total)}</span></h2>
<p class="mode">${total === null ? 'Au compteur' : 'Forfaitaire'} · ${month(view.month)} · ${category(view.plan.category)}</p>
<div class="meters">
${meter('fr', 'En France', usage.frBytes, total, scale, [{ cls: 'fill-fr', bytes: usage.frBytes }], marks, null)}
${meter('eu', 'En Europe', usage.euBytes, total, scale, [{ cls: 'fill-eu', bytes: usage.euBytes }], marks, null)}
${meter('total', 'Total', usage.usedBytes, total, scale, [{ cls: 'fill-fr', bytes: usage.frBytes }, { cls: 'fill-eu', bytes: usage.euBytes }], marks, exposureOf(view))}
</div>
<ul class="marks" aria-label="Repères">
${marks.map((m) => html`<li><span class="swatch ${m.cls}" aria-hidden="true"></span>${m.label} : ${gib(m.bytes)}</li>`)}
</ul>
<dl class="facts">
<div><dt>Restant dans l’enveloppe</dt><dd data-figure="remaining">${gib(view.remainingBytes)}</dd></div>
<div><dt>Exposition hors forfait</dt><dd data-figure="exposure">${gib(view.overageExposureBytes)}${view.overageExposureBytes ? html` <small>entre l’enveloppe et le seuil de blocage, facturés hors forfait</small>` : ''}</dd></div>
<div><dt>Dépense</dt><dd data-figure="spend">${euros(usage.spendCents)} / ${euros(thresholds.costCapCents)}${thresholds.costCapCents ? html` <small>(${ratio(usage.spendCents, thresholds.costCapCents)})</small>` : ''}</dd></div>
<div><dt>État data</dt><dd data-figure="data-state" class="state-${view.dataState}">${dataState(view.dataState)}${view.enforcement ? html` <small>réseau : ${dataState(view.enforcement.state)} depuis ${moment(view.enforcement.since)} (${view.enforcement.reason})</small>` : ''}</dd></div>
</dl>
<h3>Seuils franchis ce mois</h3>
${view.crossed.length === 0 ? html`<p data-figure="crossed">Aucun</p>` : html`<ul data-figure="crossed">${view.crossed.map((name) => html`<li>${threshold(name)}</li>`)}</ul>`}
</section>`;
}

interface Mark {
  cls: string;
  label: string;
  bytes: number;
}

function marksOf(view: LineView): Mark[] {
  const { envelope, thresholds } = view;
  const candidates: (Mark | null)[] = [
    mark('mark-80', '80 %', limitOf('ENVELOPE_80', envelope, thresholds)),
    mark('mark-100', '100 %', envelope.totalBytes),
    mark('mark-reduction', 'Seuil de réduction', thresholds.reductionBytes),
    mark('mark-block', 'Seuil de blocage', thresholds.blockBytes),
  ];
  return candidates.filter((m): m is Mark => m !== null);
}

function mark(cls: string, label: string, bytes: number | null): Mark | null {
  return bytes === null ? null : { cls, label, bytes };
}

function exposureOf(view: LineView): { from: number; to: number } | null {
  const { envelope, thresholds, overageExposureBytes } = view;
  if (!overageExposureBytes || envelope.totalBytes === null || thresholds.blockBytes === null) return null;
  return { from: envelope.totalBytes, to: thresholds.blockBytes };
}

const WIDTH = 1000;
const x = (bytes: number, scale: number) => Math.round((Math.min(bytes, scale) / scale) * WIDTH * 10) / 10;

/** One bar: an SVG (no inline style, so the CSP stays strict), labelled for screen readers, and its figure in text. */
function meter(id: string, label: string, used: number, total: number | null, scale: number, fills: { cls: string; bytes: number }[], marks: Mark[], exposure: { from: number; to: number } | null): Html {
  let offset = 0;
  const rects = fills.map((fill) => {
    const start = offset;
    offset += fill.bytes;
    return html`<rect class="${fill.cls}" x="${x(start, scale)}" y="0" width="${x(offset, scale) - x(start, scale)}" height="24"/>`;
  });
  const name = `${label} : ${gib(used)}${total === null ? '' : ` sur ${gib(total)}`}`;
  return html`<div class="meter" data-meter="${id}">
<span class="meter-label" id="meter-${id}">${label}</span>
<svg class="bar" viewBox="0 0 ${WIDTH} 24" preserveAspectRatio="none" role="img" aria-labelledby="meter-${id}" aria-describedby="figure-${id}" data-used-bytes="${used}">
<rect class="track" x="0" y="0" width="${WIDTH}" height="24"/>
${exposure ? html`<rect class="exposure" x="${x(exposure.from, scale)}" y="0" width="${x(exposure.to, scale) - x(exposure.from, scale)}" height="24"/>` : ''}
${rects}
${marks.map((m) => html`<line class="mark ${m.cls}" x1="${x(m.bytes, scale)}" x2="${x(m.bytes, scale)}" y1="0" y2="24" vector-effect="non-scaling-stroke"/>`)}
</svg>
<span class="meter-figure" id="figure-${id}" data-figure="${id}" title="${name}">${gib(used)}${total === null ? '' : ` / ${gib(total)}`}</span>
</div>`;
}
