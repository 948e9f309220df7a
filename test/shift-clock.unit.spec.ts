import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PRELOAD = fileURLToPath(new URL('./support/shift-clock.mjs', import.meta.url));
/** The real clock, which the preload leaves alone (this file also runs inside the date runs). */
const realNow = () => performance.timeOrigin + performance.now();

/** Runs `script` in a Node process with the preload and `env`; returns what it printed, parsed. */
function inMovedProcess(script: string, env: Record<string, string>): unknown {
  const { OPENSIM_FAKE_NOW: _now, OPENSIM_FAKE_NOW_AT: _at, NODE_OPTIONS: _options, ...rest } = process.env;
  const out = execFileSync(process.execPath, ['--import', PRELOAD, '--input-type=module', '-e', script], { env: { ...rest, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

describe('the date runs\' clock (test/support/shift-clock.mjs)', () => {
  it('moves Date.now() and new Date() to the instant, from the anchor the runner set, and leaves dates given explicitly alone', () => {
    const anchor = Math.round(realNow()) - 5_000;
    const seen = inMovedProcess(
      'console.log(JSON.stringify({ now: Date.now(), made: new Date().getTime(), given: new Date(0).toISOString(), parsed: Date.parse("2027-01-01T00:00:00Z"), isDate: new Date() instanceof Date, text: typeof Date() }))',
      { OPENSIM_FAKE_NOW: '2027-03-28T01:59:30+01:00', OPENSIM_FAKE_NOW_AT: String(anchor) },
    ) as Record<string, unknown>;
    const target = Date.parse('2027-03-28T01:59:30+01:00');
    // Five seconds of real time have run since the anchor: the moved clock has run them too.
    expect(seen.now).toBeGreaterThanOrEqual(target + 5_000);
    expect(seen.now).toBeLessThan(target + 60_000);
    expect(Math.abs((seen.made as number) - (seen.now as number))).toBeLessThan(1_000);
    expect(seen).toMatchObject({ given: '1970-01-01T00:00:00.000Z', parsed: Date.parse('2027-01-01T00:00:00Z'), isDate: true, text: 'string' });
  });

  it('without OPENSIM_FAKE_NOW, changes nothing', () => {
    const seen = inMovedProcess('console.log(JSON.stringify(Date.now()))', {}) as number;
    expect(Math.abs(seen - realNow())).toBeLessThan(10_000);
  });

  it('refuses an instant it cannot read, rather than run on the real clock', () => {
    expect(() => inMovedProcess('console.log(1)', { OPENSIM_FAKE_NOW: '2027-02-30T25:00:00' })).toThrow(/OPENSIM_FAKE_NOW/);
  });

  it('this test process runs on the moved clock in a date run (scripts/test-dates.sh), else on the real one', () => {
    const real = realNow();
    const { OPENSIM_FAKE_NOW: instant, OPENSIM_FAKE_NOW_AT: anchor } = process.env;
    const expected = instant ? Date.parse(instant) + (real - Number(anchor)) : real;
    expect(Math.abs(Date.now() - expected)).toBeLessThan(5_000);
  });
});
