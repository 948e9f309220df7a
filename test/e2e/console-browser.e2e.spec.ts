import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockStartingAt } from '../../src/runtime/clock.js';
import type { RunningSystem } from '../../src/app/system.js';
import type { Fixture } from '../../src/contract/fixture.js';
import { artifact, openBrowser, type Browser } from '../support/browser.js';
import { GiB, publishUsage, usageRecord } from '../support/monitoring.js';
import { isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const SOURCE = JSON.parse(readFileSync(new URL('../../fixtures/source-document.json', import.meta.url), 'utf8')) as Fixture;
const LINE = 'LINE-000318';
const ACCOUNT = 'CA-100237';
const TOKEN = 'browser-admin-token-0123456789';
/** 500 ms: usage.updated is coalesced per line per interval (default 5 s); below 1 s so a bar can move within 2 s. */
const USAGE_UPDATED_INTERVAL_MS = '500';

/** The little of the page's DOM a test function reads (this project's TypeScript has no DOM types). */
type PageWindow = { document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null } };

/** Intl's French puts (narrow) no-break spaces before € and %: compared as plain spaces. */
const spaced = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');

/**
 * The console in Debian's Chromium, driven by playwright-core: the seeded line of the source
 * document (Atelier Durand SAS, 20 Go plan), on a clock at 15 November 2026, 10:00 Paris.
 */
describe('the console in a real browser', () => {
  let client: PipelineClient;
  let system: RunningSystem | undefined;
  let browser: Browser | undefined;
  let base: string;

  beforeAll(async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN, OPENSIM_USAGE_UPDATED_INTERVAL_MS: USAGE_UPDATED_INTERVAL_MS });
    client = await PipelineClient.open(env);
    await client.seed({ services: SOURCE.services, resources: SOURCE.resources, lines: SOURCE.lines });
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-15T10:00:00+01:00') });
    base = `http://127.0.0.1:${system.httpPort}`;
    browser = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await client?.cleanup();
  });

  it('logs in with the form, finds the service, opens its Ressources and the line: plan, facts and envelope shown', async () => {
    const { page } = browser!;
    await page.goto(`${base}/?q=${ACCOUNT}`);
    await page.getByLabel("Jeton d'administration (OPENSIM_ADMIN_TOKEN)").fill(TOKEN);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${base}/?q=${ACCOUNT}`);
    const row = page.getByRole('row', { name: /SRV-OPENSIM-000142/ });
    await expect.poll(() => row.innerText()).toMatch(/Atelier Durand SAS\s+CA-100237\s+Paris 8e - Siège\s+OpenSIM\s+Actif\s+Paramétrer/);
    await page.screenshot({ path: artifact('console-services.png'), fullPage: true });

    await row.getByRole('link', { name: 'Paramétrer' }).click();
    await page.waitForURL(`${base}/services/SRV-OPENSIM-000142`);
    const active = page.getByRole('row', { name: /RES-000452/ });
    expect(await active.innerText()).toMatch(/FPC367679 Forfait mobile Data 20 Go[\s\S]*\*+5678\s+Camille Martin\s+01\/10\/2026\s+Actif/);
    expect(await page.getByRole('row', { name: /RES-000454/ }).innerText()).toMatch(/FPC367678 Forfait mobile 5 Go[\s\S]*Disponible/);
    await page.screenshot({ path: artifact('console-resources.png'), fullPage: true });

    await active.getByRole('link', { name: 'Détails' }).click();
    await page.waitForURL(`${base}/lines/${LINE}`);
    await expect.poll(() => page.locator('#live-status').getAttribute('data-state')).toBe('open');
    expect(await page.locator('#plan-title').innerText()).toBe('#FPC367679 Forfait mobile Data 20 Go');
    const facts = await page.locator('table.facts-grid').innerText();
    expect(facts).toMatch(/\*{8}5678\s+Camille Martin\s+\*+6780\s+02E7K4M9Q2XB/);
    expect(facts).toMatch(/Open SIM\s+SFR\s+01\/10\/2026\s+Actif/);
    expect(await page.content()).not.toContain('+33612345678');
    expect(await page.locator('#consumption-title').innerText()).toBe('Consommation Data 20 Gio');
    expect(await page.locator('[data-figure=total]').innerText()).toBe('0 Gio / 20 Gio');
    expect(spaced(await page.locator('[data-figure=spend]').innerText())).toMatch(/^0 € \/ 50 € \(0 %\)$/);
    expect(browser!.errors).toEqual([]);
  });

  it('moves the bar and the figures within 2 s of usage published on NATS, without a reload', async () => {
    const { page } = browser!;
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    const arrivals = new Map<string, number>();
    const sub = client.nc.subscribe(`${client.prefix}.mon.${ACCOUNT}.${LINE}`, { callback: (_err, msg) => arrivals.set(msg.json<{ id: string }>().id, Date.now()) });

    const published = Date.now();
    await publishUsage(client, [usageRecord(ACCOUNT, LINE, 'b-u1', 3 * GiB, '2026-11-15T10:05:00+01:00', { costCents: 450 }), usageRecord(ACCOUNT, LINE, 'b-u2', GiB, '2026-11-15T10:06:00+01:00', { zone: 'EU' })]);
    // Checked at every frame, in the page (a function: the page's CSP refuses evaluating a string).
    await page.waitForFunction((bytes) => (globalThis as unknown as PageWindow).document.querySelector('[data-meter=total] svg')?.getAttribute('data-used-bytes') === String(bytes), 4 * GiB, { timeout: 2000, polling: 'raf' });
    const shown = Date.now();
    sub.unsubscribe();

    expect(await page.locator('[data-figure=total]').innerText()).toBe('4 Gio / 20 Gio');
    expect(await page.locator('[data-figure=fr]').innerText()).toBe('3 Gio / 20 Gio');
    expect(await page.locator('[data-figure=eu]').innerText()).toBe('1 Gio / 20 Gio');
    expect(await page.locator('[data-figure=remaining]').innerText()).toBe('16 Gio');
    expect(spaced(await page.locator('[data-figure=spend]').innerText())).toMatch(/^4,50 € \/ 50 € \(9 %\)$/);
    expect(Number(await page.locator('[data-meter=total] rect.fill-fr').getAttribute('width'))).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#event-list').innerText()).toContain('Consommation mise à jour');
    const lastUpdate = [...arrivals].filter(([id]) => id.startsWith(`usage:${LINE}:`)).at(-1)!;
    console.log(`usage published -> bar moved: ${shown - published} ms; usage.updated on NATS -> page updated: ${shown - lastUpdate[1]} ms`);
    expect(shown - published).toBeLessThan(2000);
    expect(navigations).toEqual([]);
    await page.screenshot({ path: artifact('console-line-usage.png'), fullPage: true });
    expect(browser!.errors).toEqual([]);
  });

  it('changes the plan through the page with the keyboard: the preview first, then Confirmer publishes the request, applied is shown and the envelope updated', async () => {
    const { page } = browser!;
    await page.locator('#change-resource summary').focus();
    await page.keyboard.press('Enter');
    const select = page.getByLabel('Ressource *');
    await expect.poll(() => select.isVisible()).toBe(true);
    // Only the available resource of the same category is offered (not the metered nor the Data Only plan).
    expect(await select.locator('option').allInnerTexts()).toEqual(['Choisir une ressource', 'FPC367678 Forfait mobile 5 Go (RES-000454)']);
    expect(await page.getByRole('radio', { name: 'Maintenant' }).isChecked()).toBe(true);
    await select.focus();
    await page.keyboard.press('ArrowDown');
    expect(await select.inputValue()).toBe('RES-000454');

    // The preview comes before confirming: 4 GiB already used reach the 5 Go plan's 4 GiB reduction threshold at once.
    const preview = page.getByRole('region', { name: 'Aperçu du changement' });
    await expect.poll(() => preview.locator('.verdict').getAttribute('data-outcome'), { timeout: 5000 }).toBe('applied');
    expect(await preview.locator('.verdict').innerText()).toBe('Le changement vers #FPC367678 Forfait mobile 5 Go serait appliqué immédiatement.');
    expect(await preview.locator('[data-preview=envelope]').innerText()).toBe('12 Gio');
    expect(await preview.locator('[data-preview=reduction]').innerText()).toBe('4 Gio');
    expect(await preview.locator('[data-preview=block]').innerText()).toBe('5 Gio');
    expect(await preview.locator('[data-preview=usage]').innerText()).toMatch(/^4 Gio \(En France 3 Gio, En Europe 1 Gio\)/);
    expect(await preview.locator('[data-preview=data-state]').innerText()).toBe('Débit réduit');
    expect(await preview.locator('[data-preview=crossed]').innerText()).toBe('Seuil de réduction');
    expect(await preview.locator('.alert').innerText()).toMatch(/^Attention : le débit data sera réduit dès le changement\./);
    await page.screenshot({ path: artifact('console-change-preview.png'), fullPage: true });

    await page.getByRole('button', { name: 'Confirmer' }).focus();
    await page.keyboard.press('Enter');

    const outcome = page.locator('#request-status [data-status]');
    await expect.poll(() => outcome.getAttribute('data-status'), { timeout: 10_000 }).toBe('applied');
    expect(await outcome.innerText()).toMatch(/^Changement console-[0-9a-f-]+ : appliqué — effectif le 15\/11\/2026/);
    // 20 GiB for 1-14 November, 5 GiB for 15-30: BRIEF.md's worked example, 12,884,901,887 bytes.
    await expect.poll(() => page.locator('#consumption-title').innerText()).toBe('Consommation Data 12 Gio');
    expect(await page.locator('#plan-title').innerText()).toBe('#FPC367678 Forfait mobile 5 Go');
    expect(await page.locator('[data-figure=data-state]').innerText()).toMatch(/^Débit réduit/); // 4 GiB used ≥ the 5 Go plan's 4 GiB reduction threshold
    await expect.poll(() => page.locator('#event-list').innerText()).toContain('Changement de ressource : appliqué');
    const requestId = (await outcome.getAttribute('data-request-id'))!;
    const stored = await client.db.collection('requests').findOne({ _id: `plan-change:${requestId}` as never });
    expect(stored).toMatchObject({ outcome: 'applied', clientAccountId: ACCOUNT, lineId: LINE });
    await page.screenshot({ path: artifact('console-line-applied.png'), fullPage: true });
    expect(browser!.errors).toEqual([]);
  });

  it('schedules a change for the start of next month with the keyboard: the preview says when, the card shows it scheduled, « Annuler le changement » removes it', async () => {
    const { page } = browser!;
    await page.locator('#change-resource summary').focus();
    await page.keyboard.press('Enter');
    const select = page.getByLabel('Ressource *');
    await expect.poll(() => select.isVisible()).toBe(true);
    // The 20 Go resource the line left is available again.
    expect(await select.locator('option').allInnerTexts()).toEqual(['Choisir une ressource', 'FPC367679 Forfait mobile Data 20 Go (RES-000452)']);
    await select.focus();
    await page.keyboard.press('ArrowDown');
    const nextMonth = page.getByRole('radio', { name: 'Au début du mois prochain (1 décembre 2026, 00:00)' });
    await nextMonth.focus();
    await page.keyboard.press('Space');
    expect(await nextMonth.isChecked()).toBe(true);

    const preview = page.getByRole('region', { name: 'Aperçu du changement' });
    await expect.poll(() => preview.locator('.verdict').getAttribute('data-outcome'), { timeout: 5000 }).toBe('scheduled');
    expect(await preview.locator('.verdict').innerText()).toBe('Le changement vers #FPC367679 Forfait mobile Data 20 Go serait planifié : il prendrait effet le 01/12/2026 00:00:00 (heure de Paris).');
    // December wholly on the 20 Go plan, nothing used in it yet, nothing crossed.
    expect(await preview.locator('dt', { hasText: 'Enveloppe après le changement' }).innerText()).toBe('Enveloppe après le changement (décembre 2026)');
    expect(await preview.locator('[data-preview=envelope]').innerText()).toBe('20 Gio');
    expect(await preview.locator('[data-preview=block]').innerText()).toBe('20 Gio');
    expect(await preview.locator('[data-preview=usage]').innerText()).toMatch(/^0 Gio/);
    expect(await preview.locator('[data-preview=crossed]').innerText()).toBe('Aucun');
    expect(await preview.locator('.alert').count()).toBe(0);

    await page.getByRole('button', { name: 'Confirmer' }).focus();
    await page.keyboard.press('Enter');
    const outcome = page.locator('#request-status [data-status]');
    await expect.poll(() => outcome.getAttribute('data-status'), { timeout: 10_000 }).toBe('scheduled');
    expect(await outcome.innerText()).toMatch(/^Changement console-[0-9a-f-]+ : planifié — prendra effet le 01\/12\/2026 00:00:00$/);
    const requestId = (await outcome.getAttribute('data-request-id'))!;
    const scheduled = page.locator('#scheduled-change [data-figure=scheduled]');
    await expect.poll(() => scheduled.innerText()).toBe(`Vers #FPC367679 Forfait mobile Data 20 Go (RES-000452) le 01/12/2026 00:00:00 — demande ${requestId}`);
    expect(await page.locator('#plan-title').innerText()).toBe('#FPC367678 Forfait mobile 5 Go'); // nothing else changes until then
    await expect.poll(() => page.locator('#event-list').innerText()).toContain('Changement de ressource : planifié');
    expect(await client.db.collection('requests').findOne({ _id: `plan-change:${requestId}` as never })).toMatchObject({ outcome: 'scheduled', effectiveAt: '2026-11-30T23:00:00.000Z' });
    await page.screenshot({ path: artifact('console-line-scheduled.png'), fullPage: true });

    await page.getByRole('button', { name: 'Annuler le changement' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => outcome.getAttribute('data-status'), { timeout: 10_000 }).toBe('applied');
    expect(await outcome.innerText()).toMatch(new RegExp(`^Annulation console-cancel-[0-9a-f-]+ du changement ${requestId} : appliquée$`));
    await expect.poll(() => scheduled.innerText()).toBe('Aucun');
    expect(await page.getByRole('button', { name: 'Annuler le changement' }).count()).toBe(0);
    await expect.poll(() => page.locator('#event-list').innerText()).toContain('Changement de ressource : annulé');
    expect(await client.db.collection('requests').findOne({ _id: `plan-change:${requestId}` as never })).toMatchObject({ outcome: 'cancelled' });
    // The reservation is released: the resource is offered again.
    await expect.poll(() => page.getByLabel('Ressource *').locator('option').allTextContents()).toContain('FPC367679 Forfait mobile Data 20 Go (RES-000452)');
    expect(browser!.errors).toEqual([]);
  });
});

/**
 * A second system whose clock reads 30 November, 23:59:45 Paris: a change asked « au début du
 * mois prochain » falls due 12 s later, so the page shows it planifié, then appliqué, live.
 */
describe('the console at the turn of the month, in a real browser', () => {
  const START = '2026-11-30T23:59:48+01:00';
  const MIDNIGHT = Date.parse('2026-12-01T00:00:00+01:00');
  let client: PipelineClient;
  let system: RunningSystem | undefined;
  let browser: Browser | undefined;
  let clock: () => Date;

  beforeAll(async () => {
    const env = isolatedEnv({ OPENSIM_ADMIN_TOKEN: TOKEN });
    client = await PipelineClient.open(env);
    await client.seed({ services: SOURCE.services, resources: SOURCE.resources, lines: SOURCE.lines });
    browser = await openBrowser();
    clock = clockStartingAt(START);
    system = await startInProcess(env, { clock });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await client?.cleanup();
  });

  it('a change for next month: planifié at once, then appliqué at midnight without a reload, the card on the new plan for the whole of December', async () => {
    const { page } = browser!;
    const base = `http://127.0.0.1:${system!.httpPort}`;
    await page.goto(`${base}/lines/${LINE}`);
    await page.getByLabel("Jeton d'administration (OPENSIM_ADMIN_TOKEN)").fill(TOKEN);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${base}/lines/${LINE}`);
    await expect.poll(() => page.locator('#live-status').getAttribute('data-state')).toBe('open');
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    await page.locator('#change-resource summary').click();
    await page.getByLabel('Ressource *').selectOption('RES-000454');
    await page.getByRole('radio', { name: 'Au début du mois prochain (1 décembre 2026, 00:00)' }).check();
    const preview = page.getByRole('region', { name: 'Aperçu du changement' });
    await expect.poll(() => preview.locator('.verdict').getAttribute('data-outcome'), { timeout: 5000 }).toBe('scheduled');
    expect(await preview.locator('[data-preview=envelope]').innerText()).toBe('5 Gio');
    // The test needs the request decided before midnight on the system's clock: a slow start would ask for January.
    expect(MIDNIGHT - clock().getTime(), 'the system started too slowly: the change would be for January').toBeGreaterThan(2000);
    await page.getByRole('button', { name: 'Confirmer' }).click();

    const outcome = page.locator('#request-status [data-status]');
    await expect.poll(() => outcome.getAttribute('data-status'), { timeout: 10_000 }).toBe('scheduled');
    expect(await outcome.innerText()).toMatch(/: planifié — prendra effet le 01\/12\/2026 00:00:00$/);
    await expect.poll(() => outcome.getAttribute('data-status'), { timeout: 25_000, interval: 200 }).toBe('applied');
    const appliedAt = Date.now() - (clock().getTime() - MIDNIGHT);
    expect(await outcome.innerText()).toMatch(/: appliqué — effectif le 01\/12\/2026 00:00:0\d$/);
    await expect.poll(() => page.locator('#plan-title').innerText()).toBe('#FPC367678 Forfait mobile 5 Go');
    // 00:00 Paris on the 1st: the new plan owns the whole month, 5 GiB in full.
    await expect.poll(() => page.locator('#consumption-title').innerText()).toBe('Consommation Data 5 Gio');
    expect(await page.locator('#consumption .mode').innerText()).toMatch(/décembre 2026/);
    await expect.poll(() => page.locator('#scheduled-change [data-figure=scheduled]').innerText()).toBe('Aucun');
    expect(navigations).toEqual([]);
    console.log(`midnight on the system's clock -> appliqué shown: ${Date.now() - appliedAt} ms`);
    await page.screenshot({ path: artifact('console-line-applied-at-midnight.png'), fullPage: true });
    expect(browser!.errors).toEqual([]);
  }, 60_000);
});
