import { afterEach, describe, expect, it } from 'vitest';
import { clockStartingAt } from '../../src/runtime/clock.js';
import type { RunningSystem } from '../../src/app/system.js';
import { lineViewSchema, requestStatusSchema } from '../../src/contract/queries.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'HTTPC';
const TOKEN = 'console-admin-token-0123456789';

describe('console HTTP: auth and JSON API', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await client?.cleanup();
  });

  async function startWith(token: string | undefined): Promise<string> {
    const env = isolatedEnv(token ? { OPENSIM_ADMIN_TOKEN: token } : {});
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 2));
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-15T10:00:00+01:00') });
    return `http://127.0.0.1:${system.httpPort}`;
  }

  it('given no token configured, then the API and the pages are off (503) and /healthz, /readyz stay open', async () => {
    const base = await startWith(undefined);
    expect((await fetch(`${base}/api/lines/${ACC}-L0`)).status).toBe(503);
    const home = await fetch(`${base}/`);
    expect(home.status).toBe(503);
    expect(await home.text()).not.toContain(ACC);
    expect((await fetch(`${base}/lines/${ACC}-L0`)).status).toBe(503);
    expect((await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'x'.repeat(20) }) })).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('given a token, then without it the API answers 401 and a page sends to the login form, which shows nothing of the data; with it, the line view and the service list', async () => {
    const base = await startWith(TOKEN);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { cookie: 'opensim_console=v1.1.2.3' }];
    for (const headers of refused) {
      const api = await fetch(`${base}/api/lines/${ACC}-L0`, { headers });
      expect(api.status).toBe(401);
      expect(await api.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      const redirected = await fetch(`${base}/lines/${ACC}-L0`, { headers, redirect: 'manual' });
      expect([redirected.status, redirected.headers.get('location')]).toEqual([303, `/login?next=${encodeURIComponent(`/lines/${ACC}-L0`)}`]);
      const page = await fetch(`${base}/lines/${ACC}-L0`, { headers });
      expect(page.url).toContain('/login?next=');
      const text = await page.text();
      expect(text).toContain('name="token"');
      // Only the path asked for comes back (to return there after login): no figure, no plan.
      expect(text.replaceAll(`/lines/${ACC}-L0`, '')).not.toMatch(/Forfait|Gio|FPC|SVC-/);
    }

    const view = lineViewSchema.parse(await (await fetch(`${base}/api/lines/${ACC}-L0`, { headers: bearer })).json());
    expect(view).toMatchObject({ lineId: `${ACC}-L0`, clientAccountId: ACC, month: '2026-11', plan: { productRef: 'FPC367679' } });
    const list = await fetch(`${base}/api/services/SVC-${ACC}/lines`, { headers: bearer });
    expect(list.status).toBe(200);
    expect((await list.json() as unknown[]).map((v) => lineViewSchema.parse(v).lineId)).toEqual([`${ACC}-L0`, `${ACC}-L1`]);
    expect((await fetch(`${base}/api/lines/NOPE`, { headers: bearer })).status).toBe(404);
    expect(await (await fetch(`${base}/api/services/NOPE/lines`, { headers: bearer })).json()).toMatchObject({ error: { code: 'UNKNOWN_SERVICE' } });
    expect(requestStatusSchema.parse(await (await fetch(`${base}/api/requests/nothing`, { headers: bearer })).json()).status).toBe('unknown');
    const page = await fetch(`${base}/lines/${ACC}-L0`, { headers: bearer });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('Forfait mobile Data 20 Go');
  });

  it('given the login form, then a right token sets an HttpOnly SameSite=Strict cookie that opens the pages and the API; a wrong one does not', async () => {
    const base = await startWith(TOKEN);
    const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'not-the-token-000000', next: '/lines/x' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: `/lines/${ACC}-L1` }), redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe(`/lines/${ACC}-L1`);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^opensim_console=v1\.[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0]!;
    expect((await fetch(`${base}/lines/${ACC}-L1`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/lines/${ACC}-L1`, { headers: { cookie } })).status).toBe(200);
    // A tampered signature is refused; an open redirect is not followed.
    expect((await fetch(`${base}/api/lines/${ACC}-L1`, { headers: { cookie: `${cookie.slice(0, -2)}00` } })).status).toBe(401);
    const offsite = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }), redirect: 'manual' });
    expect(offsite.headers.get('location')).toBe('/');
    // A post with the cookie from another origin is refused.
    const crossSite = await fetch(`${base}/lines/${ACC}-L1/plan-change`, { method: 'POST', headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ targetResourceId: `${ACC}-L1-FPC367678-0` }) });
    expect(crossSite.status).toBe(403);
  });
});
