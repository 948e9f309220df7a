import { loadConfig } from '../config/config.js';
import { describeRoleGroups } from '../app/role-selection.js';
import { UsageError } from './io.js';
import { parseStartArgs, runUntilSignal } from './run-system.js';

export const START_ROLES_HELP = `  --roles <list>  run only these roles, comma-separated (default: all of them):
${describeRoleGroups('                  ')}`;

const USAGE = `usage: opensim start [--roles <role>,<role>…]

Runs the system in one process until SIGTERM or SIGINT (a second signal exits at once).
/healthz and /readyz answer on OPENSIM_HTTP_PORT whatever the roles.

${START_ROLES_HELP}

It never installs, starts or seeds anything: a server that is not up yet is waited for, and
/readyz answers 503 meanwhile. (npm start is the local convenience that starts and seeds.)
`;

/** `opensim start`: every role (or those of --roles) in one process until SIGTERM or SIGINT. */
export async function run(args: string[]): Promise<number> {
  let options;
  try {
    options = parseStartArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`opensim start: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  return runUntilSignal(loadConfig(), options);
}
