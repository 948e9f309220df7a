/**
 * Entry point of the compiled build (`npm run build`, then `node dist/cli/run.js start`): what
 * the container image and the benchmark run. `bin/opensim.mjs` runs the same sources through tsx.
 * The command line is imported after tracing starts (traced.ts).
 */
import { traced } from './traced.js';

process.exitCode = await traced(async () => (await import('./main.js')).main, process.argv.slice(2));
