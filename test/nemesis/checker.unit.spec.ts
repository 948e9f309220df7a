import { describe, expect, it } from 'vitest';
import { check, clean, expectedOutcomes, type Observed } from './checker.js';
import { buildWorkload } from './workload.js';

const shape = { services: 2, linesPerService: 3, changesPerLine: 4, usagePerLine: 5, refusedShare: 0.3 };
const workload = buildWorkload('os', shape, 42, new Date('2026-11-15T10:00:00Z'));

/** What a correct system shows: each request's expected outcome once, histories in publish order, each record counted once. */
function perfect(): Observed {
  const { outcomes, appliedByLine } = expectedOutcomes(workload);
  const usageBytes = new Map<string, number>();
  for (const m of workload.messages) if (m.kind === 'usage') usageBytes.set(m.body.lineId, (usageBytes.get(m.body.lineId) ?? 0) + m.body.bytes);
  return {
    outcomes: new Map([...outcomes].map(([id, e]) => [id, [{ id: `plan-change:${id}:${e.outcome}`, type: `opensim.plan-change.${e.outcome}`, reason: e.reason }]])),
    history: new Map([...appliedByLine].map(([line, ids]) => [line, [...ids]])),
    usageBytes,
  };
}

describe('the nemesis checker', () => {
  it('given the same seed, then the same workload (a failing run can be replayed)', () => {
    expect(buildWorkload('os', shape, 42, new Date('2026-11-15T10:00:00Z'))).toEqual(workload);
    expect(buildWorkload('os', shape, 43, new Date('2026-11-15T10:00:00Z')).messages.map((m) => m.msgId)).not.toEqual(workload.messages.map((m) => m.msgId));
  });

  it('in publish order, every cycling change is applied and every change to the current resource refused', () => {
    const { outcomes } = expectedOutcomes(workload);
    for (const [id, e] of outcomes) expect([id, e]).toEqual([id, id.includes('-x') ? { outcome: 'rejected', reason: 'TARGET_NOT_AVAILABLE' } : { outcome: 'applied', reason: null }]);
    expect([...outcomes.values()].some((e) => e.outcome === 'rejected')).toBe(true);
  });

  it('given what a correct system shows, then every request ok and every record counted once', () => {
    const verdict = check(workload, perfect());
    expect(clean(verdict)).toBe(true);
    expect(verdict.requests.ok).toBe(expectedOutcomes(workload).outcomes.size);
    expect(verdict.usage.counted1).toBe(shape.services * shape.linesPerService * shape.usagePerLine);
  });

  it('given two changes of a line decided in the other order, then one wrong decision and one line out of order', () => {
    const observed = perfect();
    const line = workload.lineIds[0]!;
    const [first, second] = observed.history.get(line)!;
    observed.history.set(line, observed.history.get(line)!.filter((id) => id !== first));
    observed.outcomes.set(first!, [{ id: `plan-change:${first}:rejected`, type: 'opensim.plan-change.rejected', reason: 'STALE_REQUEST' }]);
    const verdict = check(workload, observed);
    expect(verdict.requests).toMatchObject({ wrong: 1, lost: 0, duplicated: 0 });
    expect(verdict.linesOutOfOrder).toBe(1);
    expect(verdict.problems.join('\n')).toContain(`${first}: rejected STALE_REQUEST (expected applied)`);
    expect(second).toBeDefined();
  });

  it('given a request with no outcome, one with two, and one applied twice, then lost, duplicated, duplicated', () => {
    const observed = perfect();
    const ids = [...observed.outcomes.keys()].filter((id) => !id.includes('-x'));
    observed.outcomes.delete(ids[0]!);
    observed.outcomes.set(ids[1]!, [...observed.outcomes.get(ids[1]!)!, { id: `plan-change:${ids[1]}:failed`, type: 'opensim.plan-change.failed' }]);
    const line = [...observed.history.entries()].find(([, h]) => h.includes(ids[2]!))![0];
    observed.history.get(line)!.push(ids[2]!);
    const verdict = check(workload, observed);
    expect(verdict.requests).toMatchObject({ lost: 1, duplicated: 2 });
    expect(clean(verdict)).toBe(false);
  });

  it('given a record counted twice and one not counted, then usage says so', () => {
    const observed = perfect();
    const line = workload.lineIds[1]!;
    observed.usageBytes.set(line, observed.usageBytes.get(line)! + 4 ** 2 - 4 ** 0);
    const verdict = check(workload, observed);
    expect(verdict.usage).toMatchObject({ counted0: 1, countedMore: 1 });
  });
});
