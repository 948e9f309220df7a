import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import { openConnections, type Connections } from '../infra/connections.js';
import type { Logger } from '../logging/logger.js';
import { Readiness } from '../http/readiness.js';
import { HttpRoutes, startHttpServer } from '../http/server.js';
import { Metrics } from '../metrics/metrics.js';
import { settlesWithin } from './grace.js';

/** A part of the system that `opensim start` runs: producers, workers, relay… */
export interface Role {
  name: string;
  start(context: RoleContext): Promise<void>;
  /** Stops taking new work and finishes what is in flight. */
  stop(): Promise<void>;
}

export interface RoleContext {
  config: Config;
  logger: Logger;
  connections: Connections;
  readiness: Readiness;
  /** Prometheus counters of this process (GET /metrics); roles count what they decide. */
  metrics: Metrics;
  /** Roles add their routes (GET /metrics, the queue board) to the one HTTP server. */
  http: HttpRoutes;
}

export interface RunningSystem {
  httpPort: number;
  readiness: Readiness;
  metrics: Metrics;
  connections: Connections;
  stop(): Promise<void>;
}

/** Opens the connections, serves /healthz and /readyz, then starts each role. */
export async function startSystem(config: Config, logger: Logger, roles: Role[]): Promise<RunningSystem> {
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
