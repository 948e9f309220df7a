/** A verb of the `opensim` command line. Each lives in its own file under src/cli. */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

// Verbs are loaded lazily so `opensim envelope` does not open connections or load drivers.
export const commands: Record<string, Command> = {
  start: lazy('start all roles (producers, workers, relay, HTTP) in one process', () => import('./start.js')),
  seed: lazy('seed <file>: load a fixture file into MongoDB', () => import('./seed.js')),
  alerts: lazy('the threshold-alert consumer alone (warn, throttle, block); also a role of start', () => import('./alerts.js')),
  envelope: lazy('envelope --catalog <file> --plan <productRef>@<instant> [--plan …] [--month YYYY-MM]', () => import('./envelope.js')),
  dlq: lazy('dlq list|show|retry|discard: dead letters, retried through the normal pipeline (opensim dlq --help)', () => import('./dlq.js')),
  audit: lazy('audit [--since …] [--by NAME]: operator actions (who, when, what)', () => import('./audit.js')),
  queues: lazy('queues [--window MINUTES]: jobs per queue and state, oldest waiting age, failure rate', () => import('./queues.js')),
};

function lazy(summary: string, load: () => Promise<{ run(args: string[]): Promise<number> }>): Command {
  return { summary, run: async (args) => (await load()).run(args) };
}

export function usage(): string {
  const lines = Object.entries(commands).map(([verb, c]) => `  ${verb.padEnd(10)} ${c.summary}`);
  return `usage: opensim <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}
