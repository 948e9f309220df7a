import { commands, usage } from './commands.js';

/** Entry point of the `opensim` command. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return verb ? 0 : 2;
  }
  const command = commands[verb];
  if (!command) {
    process.stderr.write(`opensim: unknown command '${verb}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`opensim ${verb}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
