import { loadConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { startSystem } from '../app/system.js';
import { alertRoles } from '../alerts/alert-roles.js';

/** `opensim alerts`: the threshold-alert consumer alone, until SIGTERM or SIGINT (also a role of `opensim start`). */
export async function run(_args: string[]): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const system = await startSystem(config, logger, alertRoles());
  logger.info({ httpPort: system.httpPort }, 'opensim alerts started');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  process.once('SIGTERM', () => process.exit(1));
  process.once('SIGINT', () => process.exit(1));
  await system.stop();
  logger.info('stopped');
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
