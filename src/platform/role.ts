import type { Config } from '../config/config.js';
import type { Connections } from '../infra/connections.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { HttpRoutes } from './http-server.js';
import type { Readiness } from './readiness.js';

/**
 * The composition types every role is written against. They sit below the roles (app/ builds the
 * system from the roles and imports them; the roles import only these), so imports run one way.
 */

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
