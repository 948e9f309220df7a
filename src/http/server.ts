import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.js';
import type { Readiness } from './readiness.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** The admin HTTP surface: /healthz (live), /readyz (connected and consuming), plus routes added by roles. */
export async function startHttpServer(
  port: number,
  readiness: Readiness,
  logger: Logger,
  routes: Record<string, RouteHandler> = {},
): Promise<Server> {
  const table: Record<string, RouteHandler> = {
    '/healthz': (_req, res) => json(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const report = await readiness.check();
      json(res, report.ready ? 200 : 503, report);
    },
    ...routes,
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handler = req.method === 'GET' ? table[path] : undefined;
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
