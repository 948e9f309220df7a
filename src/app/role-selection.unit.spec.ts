import { describe, expect, it } from 'vitest';
import { allRoles } from './roles.js';
import { ALWAYS_RUNS, parseRoleList, ROLE_GROUPS, RoleSelectionError, selectRoles } from './role-selection.js';

describe('opensim start --roles', () => {
  const all = allRoles();
  const names = (roles: { name: string }[]) => roles.map((r) => r.name);

  it('maps every role of the system to exactly one --roles name (a new role needs its line in ROLE_GROUPS)', () => {
    const mapped = Object.values(ROLE_GROUPS).flatMap((group) => group.roles) as string[];
    const unmapped = names(all).filter((name) => !mapped.includes(name) && !(ALWAYS_RUNS as readonly string[]).includes(name));
    expect(unmapped).toEqual([]);
    expect(new Set(mapped).size).toBe(mapped.length);
  });

  it('runs the wiring and the named roles only, in the start order of the whole system', () => {
    const always = names(all).filter((n) => (ALWAYS_RUNS as readonly string[]).includes(n));
    expect(always).toEqual(['wiring', 'stream-retention']);
    const without = (roles: { name: string }[]) => names(roles).filter((n) => !always.includes(n));
    expect(names(selectRoles(all, parseRoleList('workers,intake')))).toEqual(names(all).filter((n) => [...always, 'command-worker', 'command-intake'].includes(n)));
    expect(without(selectRoles(all, parseRoleList('relay')))).toEqual(['relay', 'max-deliveries-collector', 'record-expiry']);
    expect(without(selectRoles(all, parseRoleList(' usage , alerts,usage')))).toEqual(names(all).filter((n) => ['usage-notices', 'threshold-alerts', 'usage-intake'].includes(n)));
  });

  it('with every name, runs the whole system', () => {
    const present = (Object.keys(ROLE_GROUPS) as (keyof typeof ROLE_GROUPS)[]).filter((group) => ROLE_GROUPS[group].roles.some((name: string) => names(all).includes(name)));
    expect(names(selectRoles(all, present))).toEqual(names(all));
  });

  it('refuses an empty list and unknown names, listing the known ones', () => {
    expect(() => parseRoleList(' , ')).toThrow(RoleSelectionError);
    expect(() => parseRoleList('workers,queue')).toThrow(/unknown role queue \(roles: intake, workers, relay, usage, alerts, rollover, http/);
  });
});
