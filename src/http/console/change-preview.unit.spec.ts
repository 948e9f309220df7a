import { describe, expect, it } from 'vitest';
import { lineView, previewPlanChange, scheduledChangeView, type PreviewPlanChangeCommand } from '../../domain/index.js';
import { aChangePlanCommand, aChangePlanState, aLine, aMonth, aScheduledLine, GiB, products } from '../../domain/spec-support.js';
import { changeForm, scheduledChangeSection } from './line-page.js';
import { previewContent } from './change-preview.js';
import { effectiveAtOf, nextMonthStart, parseWhen } from './change-timing.js';
import { cancelStatusText, requestStatusText } from './outcome-text.js';

const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');
const NOW = '2026-11-15T10:00:00+01:00';
const { requestId: _id, requestedAt: _at, ...bare } = aChangePlanCommand();
const aPreview = (overrides: Partial<PreviewPlanChangeCommand> = {}): PreviewPlanChangeCommand => ({ ...bare, ...overrides });
/** The brief's downgrade: 20 → 5 GiB on the 15th, 6 GiB already used. */
const usedSixGiB = () => aChangePlanState({ month: aMonth(aLine(), '2026-11', { frBytes: 5 * GiB, euBytes: GiB }) });
const FIVE_GO = { productRef: 'FPC367678', label: 'Forfait mobile 5 Go' };

describe('« au début du mois prochain »: 00:00 Paris on the 1st of the next month', () => {
  it('given any instant of a month, then the Paris midnight that starts the next one, with its offset (winter +01:00, summer +02:00)', () => {
    expect(nextMonthStart(new Date('2026-11-15T09:00:00Z'))).toBe('2026-12-01T00:00:00+01:00');
    expect(nextMonthStart(new Date('2026-12-31T22:59:59Z'))).toBe('2027-01-01T00:00:00+01:00'); // 23:59:59 Paris on the 31st
    expect(nextMonthStart(new Date('2026-03-15T12:00:00Z'))).toBe('2026-04-01T00:00:00+02:00'); // summer time since 29 March
    expect(nextMonthStart(new Date('2026-10-15T12:00:00Z'))).toBe('2026-11-01T00:00:00+01:00'); // winter time since 25 October
    // 30 November 23:30 UTC is already 1 December in Paris: next month is January.
    expect(nextMonthStart(new Date('2026-11-30T23:30:00Z'))).toBe('2027-01-01T00:00:00+01:00');
  });

  it('given the form field, then now (absent or "now") or next-month; anything else refused', () => {
    expect([parseWhen(undefined), parseWhen(''), parseWhen('now'), parseWhen('next-month'), parseWhen('tomorrow')]).toEqual(['now', 'now', 'now', 'next-month', null]);
    expect(effectiveAtOf('now', new Date(NOW))).toBeUndefined();
    expect(effectiveAtOf('next-month', new Date(NOW))).toBe('2026-12-01T00:00:00+01:00');
  });
});

describe('the preview on the line page', () => {
  it('given a downgrade now that blocks at once, then the figures after it and a plain warning that the line will be blocked', () => {
    const text = plain(previewContent(previewPlanChange(aPreview(), usedSixGiB(), NOW), FIVE_GO).text);
    expect(text).toContain('<p class="verdict" data-outcome="applied">Le changement vers <strong>#FPC367678 Forfait mobile 5 Go</strong> serait appliqué immédiatement.</p>');
    expect(text).toContain('<strong>Attention : la ligne sera bloquée dès le changement.</strong> Sa consommation du mois (6 Gio) atteint le seuil de blocage du nouveau forfait (5 Gio), qui n’est pas proratisé. Programmez plutôt le changement au début du mois prochain.');
    expect(text).toContain('<dt>Enveloppe après le changement (novembre 2026)</dt><dd data-preview="envelope">12 Gio</dd>');
    expect(text).toContain('<dd data-preview="reduction">4 Gio</dd>');
    expect(text).toContain('<dd data-preview="block">5 Gio</dd>');
    expect(text).toContain('<dd data-preview="cost-cap">30 €</dd>');
    expect(text).toContain('<dt>Consommation de novembre 2026 à ce jour</dt><dd data-preview="usage">6 Gio <small>(En France 5 Gio, En Europe 1 Gio) · 0 €</small>');
    expect(text).toContain('<dd data-preview="exposure">0 Gio</dd>');
    expect(text).toContain('<dd data-preview="data-state" class="state-blocked">Bloqué</dd>');
    expect(text).toContain('<dd data-preview="crossed">Seuil de réduction, Seuil de blocage</dd>');
  });

  it('given the same downgrade at the start of next month, then scheduled on 1 December, a whole month of 5 Gio, nothing crossed, no warning', () => {
    const text = plain(previewContent(previewPlanChange(aPreview({ effectiveAt: '2026-12-01T00:00:00+01:00' }), usedSixGiB(), NOW), FIVE_GO).text);
    expect(text).toContain('serait planifié : il prendrait effet le 01/12/2026 00:00:00 (heure de Paris).');
    expect(text).toContain('<dt>Enveloppe après le changement (décembre 2026)</dt><dd data-preview="envelope">5 Gio</dd>');
    expect(text).toContain('<dd data-preview="crossed">Aucun</dd>');
    expect(text).not.toContain('class="alert"');
  });

  it('given a change that would be refused, then the reason in words with its code, and no figures', () => {
    const state = aChangePlanState({ line: aLine({ state: 'suspended' }) });
    const text = plain(previewContent(previewPlanChange(aPreview(), state, NOW), FIVE_GO).text);
    expect(text).toContain('data-outcome="rejected">Ce changement vers <strong>#FPC367678 Forfait mobile 5 Go</strong> serait refusé : la ligne n’est pas active (LINE_NOT_ACTIVE).</p>');
    expect(text).not.toContain('<dl');
  });
});

describe('outcomes on the line page', () => {
  it("given a request's statuses, then the portal's words (planifié, appliqué, annulé, refusé with the reason), data-status in the contract's", () => {
    const base = { requestId: 'r1', reason: null, eventId: null, decidedAt: null, effectiveAt: null };
    expect(plain(requestStatusText({ ...base, status: 'scheduled', effectiveAt: '2026-11-30T23:00:00.000Z' }).text)).toBe(
      '<span class="outcome outcome-scheduled" data-request-id="r1" data-status="scheduled">Changement r1 : <strong>planifié</strong> — prendra effet le 01/12/2026 00:00:00</span>',
    );
    expect(requestStatusText({ ...base, status: 'applied', effectiveAt: '2026-11-30T23:00:00.000Z' }).text).toContain('<strong>appliqué</strong> — effectif le 01/12/2026 00:00:00');
    expect(requestStatusText({ ...base, status: 'cancelled', decidedAt: '2026-11-15T09:30:00.000Z' }).text).toContain('<strong>annulé</strong> le 15/11/2026 10:30:00');
    expect(requestStatusText({ ...base, status: 'rejected', reason: 'CHANGE_ALREADY_SCHEDULED' }).text).toContain('<strong>refusé</strong> : un changement est déjà programmé sur cette ligne : annulez-le d’abord (CHANGE_ALREADY_SCHEDULED)');
    expect(requestStatusText({ ...base, status: 'pending' }).text).toContain('<strong>en attente</strong></span>');
  });

  it("given a cancel's statuses, then appliquée, or refusée with NOT_SCHEDULED in words", () => {
    expect(cancelStatusText({ cancelId: 'c1', requestId: 'r1', status: 'applied', reason: null }).text).toBe(
      '<span class="outcome outcome-applied" data-request-id="c1" data-status="applied">Annulation c1 du changement r1 : <strong>appliquée</strong></span>',
    );
    expect(cancelStatusText({ cancelId: 'c1', requestId: 'r1', status: 'rejected', reason: 'NOT_SCHEDULED' }).text).toContain('<strong>refusée</strong> : aucun changement programmé à annuler (déjà appliqué, refusé ou annulé) (NOT_SCHEDULED)');
  });
});

describe('the line card: when a change takes effect, and the change scheduled', () => {
  const viewOf = (line = aLine()) => lineView({ line, clientAccountId: 'ACME', month: aMonth(line, '2026-11'), enforcement: null, scheduledChange: scheduledChangeView(line), version: 3, updatedAt: null }, products, '2026-11-15T09:00:00.000Z');

  it('given the change form, then a labelled choice « Maintenant » (checked) or « Au début du mois prochain » with its date, and the preview place before « Confirmer »', () => {
    const text = changeForm({ view: viewOf(), targets: [], nextMonthStart: '2026-12-01T00:00:00+01:00' }).text;
    expect(text).toMatch(/<fieldset class="when">\n<legend>Date d'effet<\/legend>\n<label><input type="radio" name="when" value="now" checked> Maintenant<\/label>\n<label><input type="radio" name="when" value="next-month"> Au début du mois prochain \(1 décembre 2026, 00:00\)<\/label>/);
    expect(text.indexOf('id="change-preview"')).toBeLessThan(text.indexOf('Confirmer'));
    expect(text).toContain('<section id="change-preview" class="preview" aria-live="polite" aria-label="Aperçu du changement" hidden>');
  });

  it('given a change scheduled on the line, then its target and date, and « Annuler le changement » posting the cancel of that request; none otherwise', () => {
    const line = aScheduledLine();
    const text = plain(scheduledChangeSection({ view: viewOf(line), scheduledProduct: FIVE_GO }).text);
    const requestId = line.scheduledChange!.requestId;
    expect(text).toContain(`<p data-figure="scheduled" data-request-id="${requestId}">Vers <strong>#FPC367678 Forfait mobile 5 Go</strong> (${line.scheduledChange!.to.resourceId}) le <time datetime="${line.scheduledChange!.effectiveAt}">01/12/2026 00:00:00</time>`);
    expect(text).toMatch(new RegExp(`<form method="post" action="/lines/${line.lineId}/plan-change-cancel" id="cancel-form">\\n<input type="hidden" name="requestId" value="${requestId}">\\n<button type="submit" class="secondary">Annuler le changement</button>`));
    expect(scheduledChangeSection({ view: viewOf(), scheduledProduct: null }).text).toContain('<p data-figure="scheduled">Aucun</p>');
  });
});
