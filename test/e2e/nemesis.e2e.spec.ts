import { describe, expect, it } from 'vitest';
import { FAULTS } from '../nemesis/row.js';
import { runNemesis } from '../nemesis/nemesis.js';

/**
 * The nemesis suite in `npm test`, at its quick load (`npm run nemesis` runs the full one): every
 * row — no fault, a frozen intake holder, each server killed and restarted, a process group
 * killed, all of them at once — must end with every request decided once as publish order
 * implies and every usage record counted once, and its fault must have landed. The seed is
 * printed: `npm run nemesis -- --quick --seed <seed>` replays a failing run.
 */
describe('nemesis (quick load)', () => {
  it('every row clean, every fault landed', async () => {
    const seed = Number(process.env.NEMESIS_SEED ?? Date.now() % 1_000_000);
    const lines: string[] = [];
    const run = await runNemesis({ seed, faults: FAULTS, quick: true, log: (line) => lines.push(line) });
    console.log(`${lines.join('\n')}\n${run.table}`);
    expect(run.rows.map((r) => r.fault)).toEqual([...FAULTS]);
    expect(run.rows.filter((r) => !r.landed).map((r) => r.fault)).toEqual([]);
    expect(run.ok, run.table).toBe(true);
  }, 900_000);
});
