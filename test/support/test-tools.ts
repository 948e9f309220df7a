import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runServicesScript } from './services-script.js';

/**
 * Programs the tests run besides the servers: Debian's chromium (the console's browser tests,
 * /usr/bin/chromium, as root with --no-sandbox), promtool (alert rules) and docker-compose
 * (`docker-compose config` of docker-compose.yml).
 */
export const TEST_TOOLS = {
  // test/support/browser.ts runs CHROMIUM_PATH when set.
  chromium: () => isExecutable(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
  promtool: () => inPath('promtool'),
  'docker-compose': () => inPath('docker-compose'),
} as const;

export class TestToolsError extends Error {
  override readonly name = 'TestToolsError';
}

/** Installs the missing tools with `bash scripts/services.sh tools`, saying so in one line. */
export async function ensureTestTools(say: (text: string) => void = (text) => process.stderr.write(text)): Promise<void> {
  const missing = Object.entries(TEST_TOOLS)
    .filter(([, present]) => !present())
    .map(([name]) => name);
  if (missing.length === 0) return;
  const started = Date.now();
  say(`test tools: ${missing.join(', ')} missing; installing with bash scripts/services.sh tools (Debian packages)… `);
  try {
    await runServicesScript('tools');
  } catch (err) {
    say('failed.\n');
    throw new TestToolsError(`The tests need ${missing.join(', ')}; ${(err as Error).message}`);
  }
  say(`done in ${Math.round((Date.now() - started) / 1000)} s.\n`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function inPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, program)));
}
