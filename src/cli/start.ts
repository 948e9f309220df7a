import { loadConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { startSystem } from '../app/system.js';
import { allRoles } from '../app/roles.js';

/** `opensim start`: every role in one process until SIGTERM or SIGINT. */
export async function run(_args: string[]): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const system = await startSystem(config, logger, allRoles());
  logger.info({ httpPort: system.httpPort }, 'opensim started');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  // A second signal means "now": the operator does not want to wait for the grace period.
  const force = () => {
    logger.warn('second signal: exiting at once');
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await system.stop();
  logger.info('stopped');
  // Everything is closed; a handle a library failed to release must not keep the process alive.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
