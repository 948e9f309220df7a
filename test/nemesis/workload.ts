import type { Fixture } from '../../src/contract/fixture.js';
import type { PlanChangeRequest, UsageRecord } from '../../src/contract/messages.js';

/**
 * The nemesis suite's load, made from a seed so that a failing run can be replayed: lines in
 * services of their own account, each with three resources of three products of one category,
 * and per line a run of plan changes cycling through them, each valid only in publish order
 * (out of order, a later one would be applied first and the earlier one refused STALE_REQUEST).
 * A few requests target the line's current resource and must be refused. Usage records are
 * interleaved; each line's k-th record is 4^k bytes, so the line's total says how many times
 * each record was counted (one base-4 digit per record).
 */

/** A deterministic pseudo-random generator (mulberry32) from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadShape {
  services: number;
  linesPerService: number;
  changesPerLine: number;
  usagePerLine: number;
  /** Share of extra requests that target the line's current resource (refused). */
  refusedShare: number;
}

export type Published =
  | { kind: 'plan-change'; subject: string; msgId: string; body: PlanChangeRequest }
  | { kind: 'usage'; subject: string; msgId: string; body: UsageRecord; exponent: number };

export interface Workload {
  fixture: Fixture;
  /** In publish order. */
  messages: Published[];
  lineIds: string[];
}

export const PRODUCTS: Fixture['products'] = [
  { productRef: 'NEM-5', label: 'Nemesis 5 Go', category: 'DATA_PLUS_PER_GB', dataAllowanceBytes: 5 * 2 ** 30, reductionThresholdBytes: 4 * 2 ** 30, blockThresholdBytes: 5 * 2 ** 30, costCapCents: 3000 },
  { productRef: 'NEM-10', label: 'Nemesis 10 Go', category: 'DATA_PLUS_PER_GB', dataAllowanceBytes: 10 * 2 ** 30, reductionThresholdBytes: 8 * 2 ** 30, blockThresholdBytes: 10 * 2 ** 30, costCapCents: 4000 },
  { productRef: 'NEM-20', label: 'Nemesis 20 Go', category: 'DATA_PLUS_PER_GB', dataAllowanceBytes: 20 * 2 ** 30, reductionThresholdBytes: 16 * 2 ** 30, blockThresholdBytes: 20 * 2 ** 30, costCapCents: 5000 },
];

const resourceOf = (lineId: string, k: number) => `${lineId}-R${k % 3}`;

export function buildWorkload(prefix: string, shape: WorkloadShape, seed: number, now: Date): Workload {
  const random = prng(seed);
  const fixture: Fixture = { products: PRODUCTS, services: [], resources: [], lines: [] };
  const lineIds: string[] = [];
  const accountOf = new Map<string, string>();
  const serviceOf = new Map<string, string>();
  for (let s = 0; s < shape.services; s++) {
    const account = `NEM${s}`;
    const serviceRef = `SVC-NEM${s}`;
    fixture.services.push({ serviceRef, clientAccountId: account });
    for (let l = 0; l < shape.linesPerService; l++) {
      const lineId = `NEM${s}-L${l}`;
      lineIds.push(lineId);
      accountOf.set(lineId, account);
      serviceOf.set(lineId, serviceRef);
      for (let k = 0; k < 3; k++) fixture.resources.push({ resourceId: resourceOf(lineId, k), serviceRef, productRef: productFor(k), state: k === 0 ? 'active' : 'available' });
      fixture.lines.push({ lineId, serviceRef, state: 'active', activatedAt: '2026-01-01T00:00:00+01:00', activeResourceId: resourceOf(lineId, 0) });
    }
  }

  // Per line, its requests in order: cycle R1, R2, R0, …; sometimes one to its current resource.
  const changes = new Map<string, PlanChangeRequest[]>();
  let clock = now.getTime() - 3_600_000;
  for (const lineId of lineIds) {
    const list: PlanChangeRequest[] = [];
    for (let k = 1; k <= shape.changesPerLine; k++) {
      if (random() < shape.refusedShare) list.push(request(lineId, `${lineId}-x${k}`, resourceOf(lineId, k - 1)));
      list.push(request(lineId, `${lineId}-c${k}`, resourceOf(lineId, k)));
    }
    changes.set(lineId, list);
  }
  function request(lineId: string, id: string, target: string): PlanChangeRequest {
    clock += 1000;
    return { requestId: `${prefix}-${id}`, clientAccountId: accountOf.get(lineId)!, serviceRef: serviceOf.get(lineId)!, lineId, targetResourceId: target, requestedAt: new Date(clock).toISOString() };
  }

  // Round by round, lines in a seeded order: a line's next request is many messages behind its last.
  const commands: PlanChangeRequest[] = [];
  const rounds = Math.max(...[...changes.values()].map((l) => l.length));
  for (let r = 0; r < rounds; r++) {
    for (const lineId of shuffled(lineIds, random)) {
      const next = changes.get(lineId)![r];
      if (next) commands.push(next);
    }
  }
  // Requested after every change of its line before it: requestedAt follows publish order per line.
  const lastAt = new Map<string, number>();
  for (const c of commands) {
    const at = Math.max(Date.parse(c.requestedAt), (lastAt.get(c.lineId) ?? 0) + 1);
    lastAt.set(c.lineId, at);
    c.requestedAt = new Date(at).toISOString();
  }

  const usage: Published[] = [];
  for (const lineId of lineIds) {
    for (let k = 0; k < shape.usagePerLine; k++) {
      const body: UsageRecord = { usageId: `${prefix}-${lineId}-u${k}`, clientAccountId: accountOf.get(lineId)!, lineId, zone: random() < 0.5 ? 'FR' : 'EU', bytes: 4 ** k, occurredAt: now.toISOString() };
      usage.push({ kind: 'usage', subject: `${prefix}.usage.${body.clientAccountId}`, msgId: body.usageId, body, exponent: k });
    }
  }
  const usageQueue = shuffled(usage, random);
  const messages: Published[] = [];
  const share = usageQueue.length / Math.max(1, commands.length);
  let owed = 0;
  for (const body of commands) {
    messages.push({ kind: 'plan-change', subject: `${prefix}.cmd.plan-change.${body.clientAccountId}`, msgId: body.requestId, body });
    for (owed += share; owed >= 1 && usageQueue.length > 0; owed -= 1) messages.push(usageQueue.shift()!);
  }
  messages.push(...usageQueue);
  return { fixture, messages, lineIds };
}

function productFor(k: number): string {
  return ['NEM-20', 'NEM-5', 'NEM-10'][k % 3]!;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
