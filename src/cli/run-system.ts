import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { startSystem, type RunningSystem } from '../app/system.js';
import { allRoles } from '../app/roles.js';
import { parseRoleList, RoleSelectionError, selectRoles, type RoleGroup } from '../app/role-selection.js';
import { UsageError } from './io.js';

export interface StartOptions {
  /** The `--roles` names; undefined runs every role. */
  groups: RoleGroup[] | undefined;
}

/** The options of `opensim start` (and `npm start`): `--roles`, `--help`; anything else is refused. */
export function parseStartArgs(args: string[]): StartOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { roles: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  try {
    return { groups: values.roles === undefined ? undefined : parseRoleList(values.roles) };
  } catch (err) {
    if (err instanceof RoleSelectionError) throw new UsageError(err.message);
    throw err;
  }
}

export interface RunHooks {
  /** Called once the roles have started (connections may still be coming up). */
  started?(system: RunningSystem, logger: Logger): void;
  /** Called when the first signal arrives, before the roles stop. */
  stopping?(): void;
  /** Called after a clean stop, before the process exits. */
  stopped?(): void;
}

// One Ctrl-C can arrive twice: from the terminal to the whole process group, and forwarded by
// npm (`npm start`). A repeat this soon is that, not an operator insisting.
const SAME_SIGNAL_MS = 300;

/** Runs the roles until SIGTERM or SIGINT, then stops them in reverse order; a second signal exits at once. */
export async function runUntilSignal(config: Config, options: StartOptions, hooks: RunHooks = {}): Promise<number> {
  const logger = createLogger(config.LOG_LEVEL);
  const roles = options.groups ? selectRoles(allRoles(), options.groups) : allRoles();
  let system: RunningSystem;
  try {
    system = await startSystem(config, logger, roles);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${config.OPENSIM_HTTP_PORT} is in use (OPENSIM_HTTP_PORT): set OPENSIM_HTTP_PORT to a free port`);
    throw err;
  }
  logger.info({ httpPort: system.httpPort }, 'opensim started');
  hooks.started?.(system, logger);

  // One listener per signal for the whole run: with none, even for an instant between two
  // (once() removes its own), Node restores the default action and a repeat of one Ctrl-C kills
  // the process outright.
  let first = 0;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      if (first === 0) {
        first = Date.now();
        resolve(received);
        return;
      }
      // A second signal means "now": the operator does not want to wait for the grace period.
      if (Date.now() - first < SAME_SIGNAL_MS) return;
      logger.warn('second signal: exiting at once');
      process.exit(1);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  logger.info({ signal }, 'shutting down');
  hooks.stopping?.();
  await system.stop();
  logger.info('stopped');
  hooks.stopped?.();
  // Everything is closed; a handle a library failed to release must not keep the process alive.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
