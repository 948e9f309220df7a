/** A verb of the `opensim` command line. Each lives in its own file under src/cli. */
export interface Command {
  summary: string;
  /** Its sub-verbs, each answering --help as the verb does (test/cli-help.unit.spec.ts runs every one). */
  subcommands?: readonly string[];
  run(args: string[]): Promise<number>;
}

// Verbs are loaded lazily so `opensim envelope` does not open connections or load drivers.
export const commands: Record<string, Command> = {
  start: lazy('start [--roles <list>]: every role (or some) in one process, until SIGTERM', () => import('./start.js')),
  seed: lazy('seed <file>: load a fixture file into MongoDB', () => import('./seed.js')),
  request: lazy('request plan-change|resource-order|cancel|preview …: publish one request through NATS and wait for its outcome (preview: ask what a plan change would do)', () => import('./request.js'), ['plan-change', 'resource-order', 'cancel', 'preview']),
  alerts: noArguments(
    lazy('the threshold-alert consumer alone (warn, throttle, block); also a role of start', () => import('./alerts.js')),
    'usage: opensim alerts\n\nThe threshold-alert consumer alone, until SIGTERM or SIGINT: warns, throttles, blocks and lifts on\nthe monitoring events (docs/monitoring-and-console.md). It is also a role of opensim start (--roles alerts).\n',
  ),
  envelope: lazy('envelope --catalog <file> --plan <productRef>@<instant> [--plan …] [--month YYYY-MM]', () => import('./envelope.js')),
  dlq: lazy('dlq list|show|retry|discard: dead letters, retried through the normal pipeline (opensim dlq --help)', () => import('./dlq.js'), ['list', 'show', 'retry', 'discard']),
  audit: lazy('audit [--since …] [--by NAME]: operator actions (who, when, what)', () => import('./audit.js')),
  queues: lazy('queues [--window MINUTES]: jobs per queue and state, oldest waiting age, failure rate', () => import('./queues.js')),
};

function lazy(summary: string, load: () => Promise<{ run(args: string[]): Promise<number> }>, subcommands?: readonly string[]): Command {
  return { summary, subcommands, run: async (args) => (await load()).run(args) };
}

/** A verb that takes no arguments: --help answers its usage, anything else is refused before it runs. */
function noArguments(command: Command, usageText: string): Command {
  return {
    ...command,
    async run(args) {
      if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
        process.stdout.write(usageText);
        return 0;
      }
      if (args.length > 0) {
        process.stderr.write(`opensim: unexpected argument '${args[0]}'\n\n${usageText}`);
        return 2;
      }
      return command.run(args);
    },
  };
}

export function usage(): string {
  const lines = Object.entries(commands).map(([verb, c]) => `  ${verb.padEnd(10)} ${c.summary}`);
  return `usage: opensim <command> [options]      (opensim <command> --help: its options)
       opensim --version

commands:
${lines.join('\n')}
`;
}
