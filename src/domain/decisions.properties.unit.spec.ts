/**
 * Invariants over any sequence of usage reports and plan changes of one line (fast-check):
 * the stored month record always equals what its history recomputes to, event keys never
 * repeat, and a threshold is never reported twice without having been lifted in between.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resource } from './catalog.js';
import { changePlan } from './change-plan.js';
import { computeEnvelope, productRefAtEndOf } from './envelope.js';
import type { DomainEvent } from './events.js';
import type { Line } from './line.js';
import type { LineMonth } from './line-month.js';
import { THRESHOLD_NAMES, dataStateOf, isCrossed, thresholdsOf } from './thresholds.js';
import { recordUsage } from './usage.js';
import { ACME, FIVE, GiB, TEN, TWENTY, aLine, aMonth, products, resource, services } from './spec-support.js';

type Step =
  | { kind: 'usage'; ms: number; bytes: number; costCents: number; zone: 'FR' | 'EU' }
  | { kind: 'change'; ms: number; target: string };

const START = Date.parse('2026-11-01T00:00:00+01:00');
const END = Date.parse('2027-01-01T00:00:00+01:00') - 1;
const usageStep = fc.record({
  kind: fc.constant('usage' as const),
  ms: fc.integer({ min: START, max: END }),
  bytes: fc.integer({ min: 0, max: 8 * GiB }),
  costCents: fc.integer({ min: 0, max: 2500 }),
  zone: fc.constantFrom('FR' as const, 'EU' as const),
});
const changeStep = fc.record({ kind: fc.constant('change' as const), ms: fc.integer({ min: START, max: END }), target: fc.constantFrom('R-5', 'R-10', 'R-20') });
const chronological = (steps: Step[]) => [...steps].sort((a, b) => a.ms - b.ms);

interface World {
  line: Line;
  resources: Record<string, Resource>;
  month: LineMonth | null;
  events: DomainEvent[];
  /** Thresholds reported and not lifted since, per month. */
  standing: Set<string>;
}

function play(steps: Step[], check: (world: World, stepEvents: DomainEvent[]) => void): World {
  const line = aLine();
  const world: World = {
    line,
    resources: { 'R-20': resource('R-20', TWENTY.productRef, 'active'), 'R-5': resource('R-5', FIVE.productRef), 'R-10': resource('R-10', TEN.productRef) },
    month: aMonth(line, '2026-11'),
    events: [],
    standing: new Set(),
  };
  chronological(steps).forEach((step, i) => {
    const now = new Date(step.ms).toISOString();
    let stepEvents: DomainEvent[] = [];
    if (step.kind === 'usage') {
      const month = world.month;
      const result = recordUsage(
        { usageId: `u-${i}`, clientAccountId: 'ACME', lineId: 'L1', zone: step.zone, bytes: step.bytes, costCents: step.costCents, occurredAt: now },
        { line: world.line, service: ACME, products, month, recordedUsageIds: [] },
        now,
      );
      if (result.outcome !== 'recorded') throw new Error(`usage not recorded: ${JSON.stringify(result)}`);
      world.month = result.month;
      stepEvents = result.events;
    } else {
      const result = changePlan(
        { requestId: `req-${i}`, clientAccountId: 'ACME', serviceRef: ACME.serviceRef, lineId: 'L1', targetResourceId: step.target, requestedAt: now },
        {
          line: world.line,
          services,
          currentResource: world.resources[world.line.activeResourceId] ?? null,
          targetResource: world.resources[step.target] ?? null,
          products,
          month: world.month,
          decidedRequestIds: [],
        },
        now,
      );
      if (result.outcome === 'applied') {
        world.line = result.line;
        for (const changed of result.resources) world.resources[changed.resourceId] = changed;
        world.month = result.month;
      }
      if (result.outcome !== 'duplicate') stepEvents = result.events;
    }
    world.events.push(...stepEvents);
    check(world, stepEvents);
  });
  return world;
}

const arbSteps = fc.array(fc.oneof(usageStep, changeStep), { maxLength: 25 });

describe('decisions — properties', () => {
  it('the month record always equals what the stored history recomputes to, and its state follows its usage', () => {
    fc.assert(
      fc.property(arbSteps, (steps) => {
        play(steps, ({ line, month }) => {
          const record = month!;
          expect(record.envelope).toEqual(computeEnvelope(line.planHistory, record.month, products));
          expect(record.thresholds).toEqual(thresholdsOf(products[productRefAtEndOf(line.planHistory, record.month)!]!));
          expect(record.crossed).toEqual(THRESHOLD_NAMES.filter((t) => isCrossed(t, record.envelope, record.thresholds, record.usage)));
          expect(record.dataState).toBe(dataStateOf(record.crossed));
        });
      }),
    );
  });

  it('no event key is ever emitted twice, and a threshold is never reported again before a plan change lifted it', () => {
    fc.assert(
      fc.property(arbSteps, (steps) => {
        const world = play(steps, (w, stepEvents) => {
          for (const event of stepEvents) {
            if (event.type !== 'opensim.threshold.crossed') continue;
            const id = `${event.data.month}:${event.data.threshold}`;
            expect(w.standing.has(id), `${id} reported twice`).toBe(false);
            w.standing.add(id);
          }
          const record = w.month!;
          for (const t of THRESHOLD_NAMES) if (!record.crossed.includes(t)) w.standing.delete(`${record.month}:${t}`);
        });
        const keys = world.events.map((e) => e.key);
        expect(new Set(keys).size).toBe(keys.length);
      }),
    );
  });

  it('with usage only, each threshold is reported at most once per month', () => {
    fc.assert(
      fc.property(fc.array(usageStep, { maxLength: 30 }), (steps) => {
        const world = play(steps, () => undefined);
        const reported = world.events.flatMap((e) => (e.type === 'opensim.threshold.crossed' ? [`${e.data.month}:${e.data.threshold}`] : []));
        expect(new Set(reported).size).toBe(reported.length);
      }),
    );
  });
});
