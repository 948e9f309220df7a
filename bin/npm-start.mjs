#!/usr/bin/env node
// `npm start`: the local convenience around `opensim start` (src/cli/local-start.ts). It is not an
// `opensim` verb, so production (`opensim start`, the image) can never start or seed anything.
import { register } from 'tsx/esm/api';
register();
const { runLocal } = await import('../src/cli/local-start.ts');
process.exitCode = await runLocal(process.argv.slice(2));
