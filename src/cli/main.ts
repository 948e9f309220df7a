import { readFileSync } from 'node:fs';
import { commands, usage } from './commands.js';

/**
 * Entry point of the `opensim` command. Returns the process exit code: 0 done, 1 failed,
 * 2 a bad command line. What was asked for (--help included) goes to stdout; a usage shown
 * because of a mistake, and every error, go to stderr.
 */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (verb === '--version' || verb === '-V') {
    process.stdout.write(`opensim ${version()}\n`);
    return 0;
  }
  if (!verb) {
    process.stderr.write(usage());
    return 2;
  }
  const command = Object.hasOwn(commands, verb) ? commands[verb] : undefined;
  if (!command) {
    process.stderr.write(`opensim: unknown ${verb.startsWith('-') ? 'option' : 'command'} '${verb}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`opensim ${verb}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** The package's version: package.json sits two folders up from src/cli and from dist/cli alike. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
