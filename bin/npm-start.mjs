#!/usr/bin/env node
// `npm start`: the local convenience around `opensim start` (src/cli/local-start.ts). It is not an
// `opensim` verb, so production (`opensim start`, the image) can never start or seed anything.
// It is imported after tracing starts (src/cli/traced.ts).
import { register } from 'tsx/esm/api';
register();
const { traced } = await import('../src/cli/traced.ts');
process.exitCode = await traced(async () => (await import('../src/cli/local-start.ts')).runLocal, process.argv.slice(2));
