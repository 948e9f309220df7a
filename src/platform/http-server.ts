import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.js';
import type { Readiness } from './readiness.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * The routes of the HTTP server, which roles extend once they start (the server listens
 * before them, so /healthz answers from the first moment).
 */
export class HttpRoutes {
  private readonly exact = new Map<string, RouteHandler>();
  private readonly mounts: { prefix: string; handler: RouteHandler }[] = [];

  /** GET on exactly this path. */
  get(path: string, handler: RouteHandler): this {
    this.exact.set(path, handler);
    return this;
  }

  /** Every method on `prefix` and below it (a UI with its assets and API). */
  mount(prefix: string, handler: RouteHandler): this {
    this.mounts.push({ prefix: prefix.replace(/\/$/, ''), handler });
    return this;
  }

  find(method: string | undefined, path: string): RouteHandler | undefined {
    const exact = method === 'GET' || method === 'HEAD' ? this.exact.get(path) : undefined;
    return exact ?? this.mounts.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`))?.handler;
  }
}

/** The admin HTTP surface: /healthz (live), /readyz (connected and consuming), plus routes added by roles. */
export async function startHttpServer(
  port: number,
  readiness: Readiness,
  logger: Logger,
  routes: HttpRoutes = new HttpRoutes(),
): Promise<Server> {
  routes.get('/healthz', (_req, res) => json(res, 200, { status: 'ok' }));
  routes.get('/readyz', async (_req, res) => {
    const report = await readiness.check();
    json(res, report.ready ? 200 : 503, report);
  });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handler = routes.find(req.method, path);
    if (!handler) return json(res, 404, { error: 'not found' });
    Promise.resolve(handler(req, res)).catch((err) => {
      logger.error({ err, path }, 'http handler failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
