#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx opensim` works right after `npm ci`.
// The command line is imported after tracing starts (src/cli/traced.ts).
import { register } from 'tsx/esm/api';
register();
const { traced } = await import('../src/cli/traced.ts');
process.exitCode = await traced(async () => (await import('../src/cli/main.ts')).main, process.argv.slice(2));
