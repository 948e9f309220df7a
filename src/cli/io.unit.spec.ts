import { describe, expect, it } from 'vitest';
import { formatAge, parseSince, table, UsageError } from './io.js';

describe('operator verb helpers', () => {
  const now = Date.parse('2026-11-15T12:00:00Z');

  it('--since takes a duration back from now, or an instant with an offset, as an ISO instant', () => {
    expect(parseSince('90s', now)).toBe('2026-11-15T11:58:30.000Z');
    expect(parseSince('30m', now)).toBe('2026-11-15T11:30:00.000Z');
    expect(parseSince('2h', now)).toBe('2026-11-15T10:00:00.000Z');
    expect(parseSince('7d', now)).toBe('2026-11-08T12:00:00.000Z');
    expect(parseSince('2026-11-15T10:00:00+01:00', now)).toBe('2026-11-15T09:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(UsageError);
  });

  it('tables align columns and cut long cells', () => {
    expect(table(['ID', 'ERROR'], [['a', 'x'.repeat(10)], ['bbb', 'y']], 6)).toBe('ID   ERROR\na    xxxxx…\nbbb  y\n');
  });

  it('ages read at a glance', () => {
    expect([formatAge(null), formatAge(250), formatAge(45_000), formatAge(600_000), formatAge(3 * 3_600_000)]).toEqual(['-', '250ms', '45s', '10m', '3.0h']);
  });
});
