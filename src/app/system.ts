import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import type { Role, RoleContext, RunningSystem } from '../platform/role.js';
import { openConnections } from '../infra/connections.js';
import type { Logger } from '../logging/logger.js';
import { Readiness } from '../platform/readiness.js';
import { HttpRoutes, startHttpServer } from '../platform/http-server.js';
import { Metrics } from '../metrics/metrics.js';
import { settlesWithin } from '../runtime/grace.js';
import { boundHeapGrowth } from '../runtime/heap.js';

/** Opens the connections, serves /healthz and /readyz, then starts each role. */
export async function startSystem(config: Config, logger: Logger, roles: Role[]): Promise<RunningSystem> {
  boundHeapGrowth(config.OPENSIM_HEAP_GROWTH_PERCENT);
  const connections = openConnections(config, logger);
  const readiness = new Readiness(connections, logger);
  const metrics = new Metrics();
  const routes = new HttpRoutes();
  const http: Server = await startHttpServer(config.OPENSIM_HTTP_PORT, readiness, logger, routes);
  const httpPort = (http.address() as AddressInfo).port;
  logger.info({ httpPort, roles: roles.map((r) => r.name) }, 'opensim starting');

  const context: RoleContext = { config, logger, connections, readiness, metrics, http: routes };
  for (const role of roles) await role.start(context);

  return {
    httpPort,
    readiness,
    metrics,
    connections,
    async stop() {
      // Roles first (stop pulling, finish in-flight work), then the connections they used.
      // Each role bounds its own wait by the grace period; this bound is the safety net for a
      // role stuck on a server that is away (e.g. a BullMQ close waiting on Redis).
      const bound = config.OPENSIM_SHUTDOWN_GRACE_MS + 1000;
      for (const role of [...roles].reverse()) {
        const started = Date.now();
        if (await settlesWithin(role.stop(), bound)) logger.info({ role: role.name, ms: Date.now() - started }, 'role stopped');
        else logger.warn({ role: role.name, ms: Date.now() - started }, 'role did not stop in time; going on');
      }
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      // A browser's keep-alive connection (the queue board) must not hold the exit.
      http.closeAllConnections();
      await closed;
      if (!(await settlesWithin(connections.close(), 5000))) logger.warn('connections did not close within 5 s; leaving them');
    },
  };
}

export type { Role, RoleContext, RunningSystem };
