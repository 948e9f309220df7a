/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`):
 *   npx tsx bench/profile-summary.ts bench/profiles/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const self = new Map<string, number>();
const byPackage = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, k) => {
    const dt = profile.timeDeltas[k] ?? 0;
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName === '(idle)') return; // waiting on I/O is not a cost of ours
    total += dt;
    const where = url.replace(/^.*\/node_modules\//, 'npm:').replace(/^file:\/\/.*\/(src|bench|test)\//, '$1/');
    const key = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const pkg = url.includes('/node_modules/') ? `npm:${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]}` : url.startsWith('node:') ? 'node internals' : url === '' ? functionName : 'project';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  });
}
const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)} %`;
console.log(`busy time: ${(total / 1e6).toFixed(2)} s\n\nby package:`);
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(v)}  ${k}`);
console.log('\ntop self time:');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(v)}  ${k}`);
