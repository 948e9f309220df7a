import type { Role } from './system.js';

/** Every role of the system, in start order. */
export function allRoles(): Role[] {
  return [];
}
