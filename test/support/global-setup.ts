import type { TestProject } from 'vitest/node';
import { resolveServices, type ServiceUrls } from './resolve-services.js';
import { ensureTestTools } from './test-tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceUrls;
  }
}

/**
 * Once for the whole run, before any test file (of every project): installs the programs the
 * tests need when one is missing, then resolves NATS, Redis and MongoDB (the environment, the
 * services script's servers, Docker, else it starts the services script's servers itself).
 * Fails at once, saying what it tried and what to do; never skips.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await ensureTestTools();
  const resolved = await resolveServices();
  project.provide('services', resolved.urls);
  return resolved.stop;
}
