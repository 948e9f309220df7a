import type { Db } from 'mongodb';
import { readFileSync } from 'node:fs';
import type { Fixture } from '../src/contract/fixture.js';
import { seedFixture } from '../src/store/seed.js';

const CATALOG = JSON.parse(readFileSync(new URL('../fixtures/catalog.json', import.meta.url), 'utf8')) as Pick<Fixture, 'products'>;

/**
 * The fleet's shape: 10 lines per service, 10 services per client account, so 100 lines per
 * account (10,000 lines: 100 accounts; 1,000,000: 10,000). Commands are partitioned by account
 * and an account's run one at a time, so the number of accounts bounds how many jobs can run at
 * once: the earlier shape (1,000 lines per account, 10 accounts at 10,000 lines) capped it at 10
 * whatever the partition count. `--lines-per-account` changes it (bench/run.ts).
 */
let linesPerService = 10;
const SERVICES_PER_ACCOUNT = 10;

export function setLinesPerAccount(lines: number): void {
  linesPerService = Math.max(1, Math.round(lines / SERVICES_PER_ACCOUNT));
}

export function linesPerAccount(): number {
  return linesPerService * SERVICES_PER_ACCOUNT;
}

export const lineId = (i: number) => `BL${i}`;
export const accountOf = (i: number) => `BA${Math.floor(i / linesPerService / SERVICES_PER_ACCOUNT)}`;
export const serviceOf = (i: number) => `BS${Math.floor(i / linesPerService)}`;
const active = (i: number) => `${lineId(i)}-R20`;
const spare = (i: number) => `${lineId(i)}-R5`;

/**
 * Seeds lines [from, to): each on a 20 GiB plan with one spare 5 GiB resource. Chunked so a
 * million lines never sit in memory.
 */
export async function seedLines(db: Db, from: number, to: number, chunk = 20_000): Promise<void> {
  for (let start = from; start < to; start += chunk) {
    const end = Math.min(to, start + chunk);
    const services = new Map<string, { serviceRef: string; clientAccountId: string }>();
    const resources: Fixture['resources'] = [];
    const lines: Fixture['lines'] = [];
    for (let i = start; i < end; i++) {
      services.set(serviceOf(i), { serviceRef: serviceOf(i), clientAccountId: accountOf(i) });
      resources.push({ resourceId: active(i), serviceRef: serviceOf(i), productRef: 'FPC367679', state: 'active' });
      resources.push({ resourceId: spare(i), serviceRef: serviceOf(i), productRef: 'FPC367678', state: 'available' });
      lines.push({ lineId: lineId(i), serviceRef: serviceOf(i), state: 'active', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: active(i) });
    }
    await seedFixture(db, { ...CATALOG, services: [...services.values()], resources, lines } as Fixture);
  }
}

/**
 * The k-th plan change of line i: it alternates between the spare and the original resource,
 * with a later `requestedAt` each round, so a line can change any number of times.
 */
export function planChange(i: number, round: number, runId: string) {
  return {
    requestId: `${runId}-${i}-${round}`,
    clientAccountId: accountOf(i),
    serviceRef: serviceOf(i),
    lineId: lineId(i),
    targetResourceId: round % 2 === 0 ? spare(i) : active(i),
    requestedAt: new Date(Date.UTC(2026, 10, 2) + round * 1000).toISOString(),
  };
}
