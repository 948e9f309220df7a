import type { Role } from './system.js';

/**
 * The names `opensim start --roles` takes, each with the roles (by `Role.name`) it runs, so a
 * deployment can scale parts apart. A role added to the system is one line here
 * (role-selection.unit.spec.ts fails until it is). Some roles run whatever the selection: the
 * wiring, which the others read, and the stream retention, which every process runs (idempotent)
 * so that the streams stay as configured however the roles are split.
 */
export const ROLE_GROUPS = {
  intake: { roles: ['command-intake'], what: 'NATS commands into the BullMQ queues (the processes share the P intake partitions, one process at a time per partition)' },
  workers: { roles: ['command-worker'], what: 'queued jobs decided and written to MongoDB, outcome events published' },
  relay: { roles: ['relay', 'max-deliveries-collector', 'record-expiry'], what: 'outbox sweeps, dead-letter collection, expiry of old decision records' },
  usage: { roles: ['usage-intake', 'usage-notices'], what: 'usage records counted, held-back usage.updated sent' },
  alerts: { roles: ['threshold-alerts'], what: 'the threshold-alert consumer (warn, throttle, block, lift)' },
  rollover: { roles: ['month-rollover'], what: 'the month rollover job' },
  http: { roles: ['admin-http', 'console'], what: 'the console and its API, /metrics, /admin/queues (/healthz and /readyz always answer)' },
  queries: { roles: ['queries'], what: 'NATS queries: line view, request status, plan-change preview' },
  scheduler: { roles: ['scheduler'], what: 'scheduled plan changes applied when due (their triggers, and a sweep for lost ones)' },
} as const satisfies Record<string, { roles: readonly string[]; what: string }>;

export type RoleGroup = keyof typeof ROLE_GROUPS;

export const ALWAYS_RUNS = ['wiring', 'stream-retention'] as const;

/** A `--roles` list that names no role, or one this system does not have. */
export class RoleSelectionError extends Error {
  override readonly name = 'RoleSelectionError';
}

/** `intake,workers` → ['intake', 'workers'], each checked against ROLE_GROUPS. */
export function parseRoleList(list: string): RoleGroup[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new RoleSelectionError(`--roles '${list}': name at least one of ${groupNames()}`);
  const unknown = names.filter((name) => !(name in ROLE_GROUPS));
  if (unknown.length > 0) throw new RoleSelectionError(`--roles: unknown role${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (roles: ${groupNames()})`);
  return [...new Set(names)] as RoleGroup[];
}

/** The roles of `all` that the groups name, plus the wiring, in their start order. */
export function selectRoles(all: readonly Role[], groups: readonly RoleGroup[]): Role[] {
  const wanted = new Set<string>([...ALWAYS_RUNS, ...groups.flatMap((group) => ROLE_GROUPS[group].roles)]);
  const absent = groups.filter((group) => !all.some((role) => (ROLE_GROUPS[group].roles as readonly string[]).includes(role.name)));
  if (absent.length > 0) throw new RoleSelectionError(`--roles: this build has no ${absent.join(', ')} role`);
  return all.filter((role) => wanted.has(role.name));
}

/** One line per --roles name, for the usage of `opensim start`. */
export function describeRoleGroups(indent: string): string {
  const width = Math.max(...Object.keys(ROLE_GROUPS).map((name) => name.length));
  return Object.entries(ROLE_GROUPS)
    .map(([name, group]) => `${indent}${name.padEnd(width)}  ${group.what}`)
    .join('\n');
}

function groupNames(): string {
  return Object.keys(ROLE_GROUPS).join(', ');
}
