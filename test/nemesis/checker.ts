import { changePlan, registerLine, type Line, type Product, type Resource, type Service } from '../../src/domain/index.js';
import type { Published, Workload } from './workload.js';

/**
 * The nemesis suite's checker, in the manner of Jepsen's: what publish order implies, against
 * what the system did. Pure: fed with the workload and what was observed after the run.
 */

export interface Expected {
  outcome: 'applied' | 'rejected';
  reason: string | null;
}

/**
 * The outcome of each request if they were decided one by one in publish order, by the same
 * domain function the workers run, from the seeded state.
 */
export function expectedOutcomes(workload: Workload): { outcomes: Map<string, Expected>; appliedByLine: Map<string, string[]> } {
  const products = Object.fromEntries(workload.fixture.products.map((p) => [p.productRef, p as Product]));
  const services = Object.fromEntries(workload.fixture.services.map((s) => [s.serviceRef, s as Service]));
  const resources = new Map(workload.fixture.resources.map((r) => [r.resourceId, r as Resource]));
  const lines = new Map<string, Line>();
  const holder = new Map<string, string>();
  for (const l of workload.fixture.lines) {
    lines.set(l.lineId, registerLine(l, resources.get(l.activeResourceId)!));
    holder.set(l.activeResourceId, l.lineId);
  }
  const decided = new Map<string, string[]>();
  const outcomes = new Map<string, Expected>();
  const appliedByLine = new Map<string, string[]>(workload.lineIds.map((id) => [id, []]));
  for (const message of workload.messages) {
    if (message.kind !== 'plan-change') continue;
    const request = message.body;
    const line = lines.get(request.lineId) ?? null;
    const target = resources.get(request.targetResourceId) ?? null;
    const result = changePlan(
      request,
      {
        line,
        services,
        currentResource: line ? { ...resources.get(line.activeResourceId)!, state: 'active' } : null,
        targetResource: target ? { ...target, state: holder.has(target.resourceId) ? 'active' : 'available' } : null,
        products,
        month: null,
        decidedRequestIds: decided.get(request.lineId) ?? [],
      },
      request.requestedAt,
    );
    if (result.outcome === 'duplicate') continue;
    if (result.outcome === 'scheduled') throw new Error(`request '${request.requestId}': the nemesis workload sends no effectiveAt, nothing is scheduled`);
    outcomes.set(request.requestId, { outcome: result.outcome, reason: result.outcome === 'rejected' ? result.reason : null });
    decided.set(request.lineId, [...(decided.get(request.lineId) ?? []), request.requestId]);
    if (result.outcome === 'applied') {
      holder.delete(line!.activeResourceId);
      holder.set(result.line.activeResourceId, result.line.lineId);
      lines.set(request.lineId, result.line);
      appliedByLine.get(request.lineId)!.push(request.requestId);
    }
  }
  return { outcomes, appliedByLine };
}

/** One outcome event of a request, as read back from the events stream. */
export interface SeenOutcome {
  id: string;
  type: string;
  reason?: string | null;
}

export interface Observed {
  /** Outcome events per request id (distinct event ids). */
  outcomes: Map<string, SeenOutcome[]>;
  /** Per line: the request ids of its plan history after activation, in order. */
  history: Map<string, string[]>;
  /** Per line: usage bytes counted (France + Europe) in its month record. */
  usageBytes: Map<string, number>;
}

export type RequestClass = 'ok' | 'lost' | 'duplicated' | 'wrong';
export type UsageClass = 'counted0' | 'counted1' | 'countedMore';

export interface Verdict {
  requests: Record<RequestClass, number>;
  usage: Record<UsageClass, number>;
  /** Lines whose applied history differs from publish order's. */
  linesOutOfOrder: number;
  /** A few examples of each problem, to start a diagnosis from. */
  problems: string[];
}

export function check(workload: Workload, observed: Observed): Verdict {
  const { outcomes: expected, appliedByLine } = expectedOutcomes(workload);
  const verdict: Verdict = { requests: { ok: 0, lost: 0, duplicated: 0, wrong: 0 }, usage: { counted0: 0, counted1: 0, countedMore: 0 }, linesOutOfOrder: 0, problems: [] };
  const note = (problem: string) => {
    if (verdict.problems.length < 12) verdict.problems.push(problem);
  };
  const appliedTimes = new Map<string, number>();
  for (const ids of observed.history.values()) for (const id of ids) appliedTimes.set(id, (appliedTimes.get(id) ?? 0) + 1);

  for (const [requestId, want] of expected) {
    const seen = observed.outcomes.get(requestId) ?? [];
    if (seen.length === 0) {
      verdict.requests.lost += 1;
      note(`${requestId}: no outcome (expected ${describe(want)})`);
    } else if (seen.length > 1 || (appliedTimes.get(requestId) ?? 0) > 1) {
      verdict.requests.duplicated += 1;
      note(`${requestId}: ${seen.map((s) => s.id).join(', ')}; applied ${appliedTimes.get(requestId) ?? 0} times`);
    } else if (!matches(seen[0]!, want)) {
      verdict.requests.wrong += 1;
      note(`${requestId}: ${seen[0]!.type.replace('opensim.plan-change.', '')} ${seen[0]!.reason ?? ''} (expected ${describe(want)})`);
    } else verdict.requests.ok += 1;
  }
  for (const [lineId, want] of appliedByLine) {
    const got = observed.history.get(lineId) ?? [];
    if (got.join() !== want.join()) {
      verdict.linesOutOfOrder += 1;
      note(`${lineId}: history ${got.join(' ')} (expected ${want.join(' ')})`);
    }
  }

  // Usage: the line's total, read as base-4 digits, says how often each of its records was counted.
  const byLine = new Map<string, Extract<Published, { kind: 'usage' }>[]>();
  for (const m of workload.messages) if (m.kind === 'usage') byLine.set(m.body.lineId, [...(byLine.get(m.body.lineId) ?? []), m]);
  for (const [lineId, records] of byLine) {
    let total = observed.usageBytes.get(lineId) ?? 0;
    const counts = new Map<number, number>();
    for (let k = Math.max(...records.map((r) => r.exponent)) + 1; k >= 0; k--) {
      counts.set(k, Math.floor(total / 4 ** k));
      total %= 4 ** k;
    }
    for (const r of records) {
      const n = counts.get(r.exponent) ?? 0;
      if (n === 1) verdict.usage.counted1 += 1;
      else {
        verdict.usage[n === 0 ? 'counted0' : 'countedMore'] += 1;
        note(`${r.body.usageId}: counted ${n} times`);
      }
    }
    if ((counts.get(Math.max(...records.map((r) => r.exponent)) + 1) ?? 0) > 0) note(`${lineId}: usage beyond its records`);
  }
  return verdict;
}

function matches(seen: SeenOutcome, want: Expected): boolean {
  return seen.type === `opensim.plan-change.${want.outcome}` && (want.outcome === 'applied' || seen.reason === want.reason);
}

function describe(e: Expected): string {
  return e.reason ? `${e.outcome} ${e.reason}` : e.outcome;
}

/** Clean: every request ok, every line in publish order, every usage record counted once. */
export function clean(v: Verdict): boolean {
  return v.requests.lost + v.requests.duplicated + v.requests.wrong === 0 && v.linesOutOfOrder === 0 && v.usage.counted0 + v.usage.countedMore === 0;
}
