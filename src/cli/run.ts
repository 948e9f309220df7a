/**
 * Entry point of the compiled build (`npm run build`, then `node dist/cli/run.js start`): what
 * the container image and the benchmark run. `bin/opensim.mjs` runs the same sources through tsx.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
