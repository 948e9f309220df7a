/**
 * `npm run nemesis [-- --seed N] [--quick] [--faults a,b] [--runs K]`: the nemesis suite from
 * the command line (nemesis.ts). Exits 0 only when every row of every run is clean and its
 * fault landed. The servers it kills are its own (ports from NEMESIS_PORT_BASE, default 20000).
 */
import { parseArgs } from 'node:util';
import { parseFaults, runNemesis } from './nemesis.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    faults: { type: 'string' },
    runs: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stderr.write('usage: npm run nemesis -- [--seed N] [--quick] [--faults none,sigstop,kill-nats,kill-redis,kill-mongo,kill-process,redis-loss,redis-rollback,all] [--runs K]\n');
  process.exit(0);
}
const first = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
const runs = Number(values.runs);
let ok = true;
for (let i = 0; i < runs; i++) {
  const result = await runNemesis({ seed: first + i, faults: parseFaults(values.faults), quick: values.quick });
  process.stdout.write(`\nnemesis run ${i + 1}/${runs}, seed ${result.seed}:\n${result.table}\n\n`);
  ok &&= result.ok;
}
process.exit(ok ? 0 : 1);
