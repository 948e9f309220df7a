import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { changePlan, lineView, registerLine, type LineView } from '../../domain/index.js';
import { aChangePlanCommand, aChangePlanState, aLine, aMonth, GiB, METERED, products, resource } from '../../domain/spec-support.js';
import { ConsoleAuth, safeNext, sameOrigin } from './auth.js';
import { consumptionSection } from './consumption.js';
import { day, euros, gib } from './format.js';
import { homePage } from './home-page.js';
import { numberVariants } from './reads.js';

const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const NOV_20 = '2026-11-20T09:00:00.000Z';

function viewOf(overrides: Partial<Parameters<typeof lineView>[0]> = {}): LineView {
  const line = aLine();
  return lineView({ line, clientAccountId: 'ACME', month: aMonth(line, '2026-11'), enforcement: null, scheduledChange: null, version: 1, updatedAt: null, ...overrides }, products, NOV_20);
}

describe('console figures (fr-FR)', () => {
  it('given bytes, cents and instants, then Gio, euros as the portal writes them, and Paris dates', () => {
    expect(gib(13_958_643_711)).toBe('13 Gio');
    expect(gib(12_884_901_887)).toBe('12 Gio');
    expect(gib(1.5 * GiB)).toBe('1,5 Gio');
    expect(gib(null)).toBe('—');
    expect(plain(euros(3000))).toBe('30 €');
    expect(plain(euros(450))).toBe('4,50 €');
    expect(day('2026-09-30T22:30:00Z')).toBe('01/10/2026'); // already 1 October in Paris
  });

  it('given a French number written any way, then the variants include the stored +33 form', () => {
    expect(numberVariants('06 12 34 56 78')).toContain('+33612345678');
    expect(numberVariants('+33 6 12 34 56 78')).toEqual(expect.arrayContaining(['+33612345678', '0612345678']));
  });
});

describe('console pages', () => {
  it('given data with markup in it, then it is escaped, never rendered', () => {
    const text = homePage('<b>x</b>', { services: [{ serviceRef: 'S1', clientAccountId: 'A', clientName: '<script>alert(1)</script>' }], lines: [] });
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).not.toContain('<script>alert');
    expect(text).toContain('value="&lt;b&gt;x&lt;/b&gt;"');
  });

  it('given an upgrade on the 15th, then the total bar shows the overage exposure between the envelope and the block mark', () => {
    const line = aLine({ planHistory: [{ resourceId: 'R-5', productRef: 'FPC367678', effectiveAt: '2026-10-01T00:00:00.000Z' }], activeResourceId: 'R-5' });
    const state = aChangePlanState({ line, currentResource: resource('R-5', 'FPC367678', 'active'), targetResource: resource('R-20', 'FPC367679'), month: aMonth(line, '2026-11') });
    const result = changePlan(aChangePlanCommand({ targetResourceId: 'R-20' }), state, '2026-11-15T09:00:00.000Z');
    if (result.outcome !== 'applied') throw new Error(`expected applied, got ${result.outcome}`);
    const section = plain(consumptionSection(viewOf({ line: result.line, month: result.month })).text);
    expect(section).toContain('Consommation Data <span data-figure="envelope">13 Gio</span>');
    // Scale: 1.05 × the 20 GiB block threshold = 1000 units; the envelope (≈13 GiB) at 619, 7 GiB of exposure wide.
    expect(section).toMatch(/data-meter="total"[\s\S]*<rect class="exposure" x="619" y="0" width="333.4"/);
    expect(section).toContain('<dd data-figure="exposure">7 Gio <small>entre l’enveloppe et le seuil de blocage');
    expect(section).toMatch(/80 % : 10,4 Gio[\s\S]*100 % : 13 Gio[\s\S]*Seuil de réduction : 16 Gio[\s\S]*Seuil de blocage : 20 Gio/);
  });

  it('given a metered plan, then no envelope: "au compteur", no 80/100 % marks, no exposure', () => {
    const line = registerLine({ lineId: 'L1', serviceRef: 'SRV-ACME', state: 'active', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: 'R-M' }, resource('R-M', METERED.productRef, 'active'));
    const section = consumptionSection(viewOf({ line, month: null })).text;
    expect(section).toContain('au compteur');
    expect(section).not.toContain('mark-80');
    expect(section).not.toContain('class="exposure"');
    expect(section).toContain('mark-block');
  });
});

describe('console auth', () => {
  const auth = new ConsoleAuth('token-0123456789abcdef');

  it('given a session issued now, then it is valid for 12 hours, and not once tampered with, expired or signed with another token', () => {
    const now = Date.parse('2026-11-15T10:00:00Z');
    const session = auth.issueSession(now);
    const withCookie = (value: string) => request({ cookie: `other=1; opensim_console=${value}` });
    expect(auth.check(withCookie(session), now + 3600_000)).toBe('session');
    expect(auth.check(withCookie(session), now + 12 * 3600_000 + 1)).toBe('none');
    expect(auth.check(withCookie(`${session.slice(0, -1)}${session.endsWith('0') ? '1' : '0'}`), now)).toBe('none');
    expect(new ConsoleAuth('another-token-0123456789').check(withCookie(session), now)).toBe('none');
    expect(auth.check(request({ authorization: 'Bearer token-0123456789abcdef' }))).toBe('bearer');
    expect(auth.check(request({ authorization: 'Bearer token-0123456789abcdeX' }))).toBe('none');
    expect(new ConsoleAuth(undefined).enabled).toBe(false);
  });

  it('given the cookie attributes, then HttpOnly, SameSite=Strict, and Secure only behind TLS', () => {
    expect(auth.sessionCookie('v', false)).toBe('opensim_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
    expect(auth.sessionCookie('v', true)).toMatch(/; Secure$/);
  });

  it('given where to go after login, then only a path of this site; given a post, then only from this origin', () => {
    expect(safeNext('/lines/L1?request=r')).toBe('/lines/L1?request=r');
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'lines', '', null]) expect(safeNext(bad)).toBe('/');
    expect(sameOrigin(request({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }))).toBe(true);
    expect(sameOrigin(request({ host: '127.0.0.1:8080', origin: 'http://evil.example' }))).toBe(false);
    expect(sameOrigin(request({ host: '127.0.0.1:8080' }))).toBe(true);
  });
});
