import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pipeline } from '../../platform/pipeline.js';
import type { Role, RoleContext } from '../../platform/role.js';
import { readRequestStatus, type RequestReadDeps } from '../../queries/request-status.js';
import { isQueryError } from '../../queries/line-query.js';
import type { RouteHandler } from '../../platform/http-server.js';
import type { PreviewReadDeps } from '../../queries/plan-change-preview.js';
import { answerApi } from './api.js';
import { ConsoleAuth, safeNext, sameOrigin } from './auth.js';
import { CONSOLE_SCRIPT } from './console-script.js';
import { CONSOLE_STYLE } from './console-style.js';
import { homePage } from './home-page.js';
import { LiveFeeds } from './live-feed.js';
import { linePage } from './line-page.js';
import { disabledPage, loginPage } from './login-page.js';
import { lineCard, search, serviceResources, type ConsoleReadDeps } from './reads.js';
import { lineActions } from './line-actions.js';
import { fieldsOf, readBody, redirect, segment, sendAsset, sendHtml, sendJson } from './respond.js';
import { servicePage } from './service-page.js';
import { html, page } from './html.js';

type Handler = (req: IncomingMessage, res: ServerResponse, parts: string[]) => Promise<void> | void;

/**
 * The monitoring console and its JSON API, on the HTTP port of /readyz (CONTRACT.md, HTTP):
 * `/` (search, services), `/services/<ref>` (Ressources), `/lines/<id>` (the line's card, live),
 * `/api/…`. Behind the admin token (Bearer, or the login form's session cookie); with no token
 * configured everything here answers 503. /healthz and /readyz are not touched.
 */
export class ConsoleSurface implements Role {
  readonly name = 'console';
  private feeds: LiveFeeds | undefined;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    const { config, connections, logger, http } = context;
    const auth = new ConsoleAuth(config.OPENSIM_ADMIN_TOKEN);
    const prefix = config.OPENSIM_SUBJECT_PREFIX;
    const { collections, references, clock, queues } = this.pipeline;
    const deps: ConsoleReadDeps & RequestReadDeps & PreviewReadDeps = { collections, references, clock, queues: queues.queues };
    const feeds = (this.feeds = new LiveFeeds(deps, () => connections.nats(), prefix, logger));
    const guard = guarded(auth);

    const actions = lineActions({ reads: deps, nats: () => connections.nats(), prefix, logger });

    // Browsers ask for it on every page: an answer keeps a 404 out of their console.
    http.get('/favicon.ico', (_req, res) => void res.writeHead(204, { 'cache-control': 'max-age=86400' }).end());
    http.get('/console.js', (_req, res) => sendAsset(res, 'text/javascript', CONSOLE_SCRIPT));
    http.get('/console.css', (_req, res) => sendAsset(res, 'text/css', CONSOLE_STYLE));
    http.mount('/login', (req, res) => login(auth, req, res));
    http.mount('/logout', (_req, res) => redirect(res, '/login', { 'set-cookie': ConsoleAuth.clearedCookie() }));
    http.get('/', guard('page', async (req, res) => {
      const q = new URL(req.url ?? '/', 'http://console').searchParams.get('q') ?? '';
      sendHtml(res, 200, homePage(q, await search(deps, q)));
    }));
    http.mount('/services', guard('page', async (_req, res, [, ref, ...rest]) => {
      const serviceRef = segment(ref);
      const found = serviceRef !== null && rest.length === 0 ? await serviceResources(deps, serviceRef) : null;
      if (!found) return sendHtml(res, 404, notFound('Service inconnu.'));
      sendHtml(res, 200, servicePage(found.service, found.resources));
    }));
    http.mount('/lines', guard('page', async (req, res, [, id, action, ...rest]) => {
      const lineId = segment(id);
      if (lineId === null || rest.length > 0) return sendHtml(res, 404, notFound('Ligne inconnue.'));
      if (req.method === 'POST' && action === 'plan-change') return actions.changePlan(req, res, lineId);
      if (req.method === 'POST' && action === 'plan-change-cancel') return actions.cancelChange(req, res, lineId);
      const card = req.method === 'GET' && (action === undefined || action === 'live' || action === 'plan-change-preview') ? await lineCard(deps, lineId) : null;
      if (!card) return sendHtml(res, 404, notFound('Ligne inconnue.'));
      if (action === 'live') return feeds.stream(res, { lineId, clientAccountId: card.view.clientAccountId });
      if (action === 'plan-change-preview') return actions.preview(req, res, card);
      const params = new URL(req.url ?? '/', 'http://console').searchParams;
      const requestId = params.get('request');
      const status = requestId ? await readRequestStatus(deps, requestId) : null;
      // « Voir l'aperçu » without the script: the page again, the form open on the choices made and their preview.
      const selection = await actions.selection(req, card);
      sendHtml(res, 200, linePage(card, status && !isQueryError(status) ? status : null, selection && !('status' in selection) ? selection : undefined));
    }));
    http.mount('/api', guard('api', (_req, res, [, ...parts]) => answerApi(deps, parts, res)));

  }

  async stop(): Promise<void> {
    this.feeds?.closeAll();
  }
}

/**
 * Pages and API behind the token. A page without it redirects to the login form (which shows
 * nothing of the data); the API, and any post, answers 401 JSON. A post carried by the session cookie must come from
 * this site's own pages.
 */
function guarded(auth: ConsoleAuth) {
  return (kind: 'page' | 'api', handler: Handler): RouteHandler =>
    async (req, res) => {
      if (!auth.enabled) {
        return kind === 'api' ? sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: 'the console is off: set OPENSIM_ADMIN_TOKEN' } }) : sendHtml(res, 503, disabledPage());
      }
      const presented = auth.check(req);
      if (presented === 'none') {
        const challenge = { 'www-authenticate': 'Bearer realm="opensim console"' };
        // A person opening a page is sent to the login form, and back here after it.
        if (kind === 'page' && (req.method === 'GET' || req.method === 'HEAD')) return redirect(res, `/login?next=${encodeURIComponent(safeNext(req.url))}`);
        return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong admin token (Authorization: Bearer <OPENSIM_ADMIN_TOKEN>)' } }, challenge);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD' && presented === 'session' && !sameOrigin(req)) {
        return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: 'cross-origin post refused' } });
      }
      const parts = new URL(req.url ?? '/', 'http://console').pathname.split('/').slice(1);
      try {
        await handler(req, res, parts);
      } catch (err) {
        // MongoDB, Redis or NATS away: say so (and that it is worth asking again), not "internal error".
        if (res.headersSent) return void res.end();
        const message = `a service did not answer (${(err as Error).message}); try again`;
        if (kind === 'api') return sendJson(res, 503, { error: { code: 'UNAVAILABLE', message } }, { 'retry-after': '5' });
        sendHtml(res, 503, page('Indisponible', html`<h1>Service momentanément indisponible</h1><p>${message}</p>`), { 'retry-after': '5' });
      }
    };
}

/** GET: the form. POST: the token checked, then the session cookie and back to where the person was going. */
async function login(auth: ConsoleAuth, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!auth.enabled) return sendHtml(res, 503, disabledPage());
  const url = new URL(req.url ?? '/', 'http://console');
  if (req.method !== 'POST') return sendHtml(res, 200, loginPage(safeNext(url.searchParams.get('next')), false));
  const body = await readBody(req);
  const fields = body === null ? {} : fieldsOf(req, body);
  const next = safeNext(fields.next);
  if (!fields.token || !auth.tokenMatches(fields.token) || !sameOrigin(req)) return sendHtml(res, 401, loginPage(next, true));
  const secure = 'encrypted' in req.socket || req.headers['x-forwarded-proto'] === 'https';
  redirect(res, next, { 'set-cookie': auth.sessionCookie(auth.issueSession(), secure) });
}

function notFound(message: string): string {
  return page('Introuvable', html`<h1>Introuvable</h1><p>${message}</p><p><a href="/">Mes Services</a></p>`);
}
