import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role, RoleContext } from '../platform/role.js';
import { naming } from '../messaging/subjects.js';
import { registerPipelineGauges } from './gauges/pipeline-gauges.js';
import { registerRolloverGauges } from './gauges/rollover-gauges.js';
import { registerStreamGauges } from './gauges/stream-gauges.js';
import { rolloverQueueName } from '../rollover/month-rollover.js';
import { json, type RouteHandler } from '../platform/http-server.js';

export const BOARD_PATH = '/admin/queues';

/**
 * The admin routes on the HTTP port of /readyz: GET /metrics (Prometheus) and the Bull Board
 * UI of the command queues and the rollover queue, both behind OPENSIM_ADMIN_TOKEN. /healthz and /readyz stay open.
 */
export class AdminSurface implements Role {
  readonly name = 'admin-http';

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    const { config, connections, metrics, http, readiness } = context;
    const names = naming(config.OPENSIM_SUBJECT_PREFIX);
    const jsm = async () => connections.nats()?.jetstreamManager();
    // The rollover's own queue, for reading only (the month-rollover role owns its jobs).
    this.rollover = new Queue(rolloverQueueName(config.OPENSIM_SUBJECT_PREFIX), { connection: connections.redis });
    this.rollover.on('error', () => {});
    const queues = [...this.pipeline.queues.queues, this.rollover];
    registerPipelineGauges(metrics, this.pipeline, names, jsm, queues);
    registerStreamGauges(metrics, names, jsm);
    registerRolloverGauges(metrics, this.rollover);
    metrics.gauge('opensim_ready', '1 while this process is ready (GET /readyz answers 200), else 0', [], async () => [{ labels: {}, value: (await readiness.check()).ready ? 1 : 0 }]);
    const guard = (handler: RouteHandler) => requireAdminToken(config.OPENSIM_ADMIN_TOKEN, handler);
    http.get(
      '/metrics',
      guard(async (_req, res) => {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      }),
    );
    http.mount(BOARD_PATH, guard(queueBoard(queues)));
  }

  private rollover: Queue | undefined;

  async stop(): Promise<void> {
    await this.rollover?.close();
  }
}

/**
 * Bull Board, read-only: retrying or removing jobs by hand would bypass `opensim dlq` and its
 * audit trail. Failed jobs move to the dead letters anyway (the relay).
 */
function queueBoard(queues: readonly Queue[]): RouteHandler {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'opensim queues' } },
  });
  const app = new Hono().route(BOARD_PATH, adapter.registerPlugin());
  const listener = getRequestListener(app.fetch);
  return (req, res) => listener(req, res);
}

/**
 * `Authorization: Bearer <token>` (Prometheus, scripts) or HTTP Basic with the token as the
 * password (a browser on the board: it asks once, then sends it with every asset and API
 * call). No token configured: 503, the admin routes are off rather than open.
 */
export function requireAdminToken(token: string | undefined, handler: RouteHandler): RouteHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (expected === undefined) return json(res, 503, { error: 'admin routes are disabled: set OPENSIM_ADMIN_TOKEN' });
    const given = presentedToken(req.headers.authorization);
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      res.setHeader('www-authenticate', ['Bearer realm="opensim admin"', 'Basic realm="opensim admin", charset="UTF-8"']);
      return json(res, 401, { error: 'missing or wrong admin token (Authorization: Bearer <OPENSIM_ADMIN_TOKEN>)' });
    }
    return handler(req, res);
  };
}

function presentedToken(header: string | undefined): string | undefined {
  const [scheme, value] = (header ?? '').split(' ', 2);
  if (!value) return undefined;
  if (scheme!.toLowerCase() === 'bearer') return value.trim();
  if (scheme!.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/** Equal-length digests: timingSafeEqual then leaks neither the token nor its length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
