import type { TestProject } from 'vitest/node';
import { resolveServices, type ServiceUrls } from './resolve-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceUrls;
  }
}

/**
 * Resolves NATS, Redis and MongoDB once for the whole integration run:
 * the URLs in the environment, else containers when a Docker engine answers,
 * else the run fails at once with instructions. Never skips.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const resolved = await resolveServices();
  project.provide('services', resolved.urls);
  return resolved.stop;
}
