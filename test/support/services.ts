import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { ServiceUrls } from './resolve-services.js';

/** URLs of the real servers this integration run talks to (see global-setup.ts). */
export function services(): ServiceUrls {
  return inject('services');
}

/** A random name for a queue, stream or database, so tests never share state. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** The MongoDB URL of the run with its database replaced by a fresh random one. */
export function mongoUrlWithDatabase(database: string): string {
  const url = new URL(services().mongoUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
