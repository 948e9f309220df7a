/**
 * Properties of scheduled changes and previews (fast-check), over random lines, usage, targets,
 * instants and a suspension in between:
 * - a change scheduled for T and applied when it falls due at T is the immediate change at T:
 *   same line, resources, month record and events (same keys, as it is the same request);
 * - a preview agrees with the real decision on the same state: same outcome and reason, and the
 *   figures the real change announces (envelope, thresholds, usage, exposure, data state,
 *   crossings), applied at once or when due.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyScheduledChange } from './apply-scheduled-change.js';
import type { Resource } from './catalog.js';
import { changePlan, type Applied, type ChangePlanCommand, type ChangePlanState } from './change-plan.js';
import { previewPlanChange, type PlanChangePreview } from './preview-plan-change.js';
import { ACME, ACME_OTHER, DATA_ONLY, FIVE, GiB, TEN, TWENTY, aLine, aMonth, aScheduledLine, eventsOfType, products, resource, services } from './spec-support.js';

const DAY = 86_400_000;
const NOV_START = Date.parse('2026-11-01T00:00:00+01:00');
const NOV_END = Date.parse('2026-12-01T00:00:00+01:00') - 1;
/** Month starts at 00:00 Paris, where a scheduled change owns the whole month. */
const MONTH_STARTS = ['2026-12-01T00:00:00+01:00', '2027-01-01T00:00:00+01:00'].map(Date.parse);

const PLANS: Record<string, Resource> = {
  'R-20': resource('R-20', TWENTY.productRef),
  'R-5': resource('R-5', FIVE.productRef),
  'R-10': resource('R-10', TEN.productRef),
  'R-x': resource('R-x', DATA_ONLY.productRef),
  'R-20b': resource('R-20b', TWENTY.productRef),
  'R-other': resource('R-other', FIVE.productRef, 'available', ACME_OTHER.serviceRef),
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Mostly what a valid change meets, often enough each obstacle. */
const mostly = <T, U>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<U>) => fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: rare });
const world = fc.record({
  nowMs: fc.integer({ min: NOV_START, max: NOV_END }),
  current: fc.constantFrom('R-20', 'R-5', 'R-10'),
  target: mostly(fc.constantFrom('R-20', 'R-5', 'R-10'), fc.constantFrom('R-x', 'R-20b', 'R-other', 'R-404')),
  targetTaken: mostly(fc.constant('available' as const), fc.constantFrom('active' as const, 'reserved' as const)),
  frBytes: fc.integer({ min: 0, max: 25 * GiB }),
  euBytes: fc.integer({ min: 0, max: 3 * GiB }),
  spendCents: fc.integer({ min: 0, max: 6000 }),
  lineState: mostly(fc.constant('active' as const), fc.constant('suspended' as const)),
  pending: mostly(fc.constant(false), fc.constant(true)),
});
type World = typeof world extends fc.Arbitrary<infer W> ? W : never;

/** Where T falls after now: anywhere in the next 75 days, or exactly at a month start ahead. */
const ahead = fc.oneof(fc.integer({ min: 1, max: 75 * DAY }).map((ms) => ({ ms })), fc.constantFrom(...MONTH_STARTS).map((at) => ({ at })));
const dueAt = (nowMs: number, when: { ms: number } | { at: number }) => ('ms' in when ? nowMs + when.ms : Math.max(when.at, nowMs + 1));

function stateOf(w: World, overrides: { pending?: boolean; lineState?: World['lineState'] } = {}): ChangePlanState {
  const activeResource = { ...PLANS[w.current]!, state: 'active' as const };
  const registered = aLine({ activeResourceId: w.current, planHistory: [{ resourceId: w.current, productRef: activeResource.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }], state: overrides.lineState ?? w.lineState });
  // A pending change of another request, when asked for: this line then refuses any new one.
  const line = (overrides.pending ?? w.pending) ? { ...registered, scheduledChange: { ...aScheduledLine().scheduledChange!, requestId: 'req-earlier' } } : registered;
  const target = PLANS[w.target];
  return {
    line,
    services,
    currentResource: activeResource,
    targetResource: target ? { ...target, state: w.target === w.current ? 'active' : w.targetTaken } : null,
    products,
    month: { ...aMonth(line, '2026-11'), usage: { frBytes: w.frBytes, euBytes: w.euBytes, spendCents: w.spendCents } },
    decidedRequestIds: [],
  };
}

function commandOf(w: World, effectiveAt?: string): ChangePlanCommand {
  return { requestId: 'req-p', clientAccountId: ACME.clientAccountId, serviceRef: ACME.serviceRef, lineId: 'L1', targetResourceId: w.target, requestedAt: iso(w.nowMs), ...(effectiveAt ? { effectiveAt } : {}) };
}

/** What the real change announces, in the preview's terms. */
function announced(applied: Applied): Omit<PlanChangePreview, 'outcome' | 'reason' | 'message'> {
  const data = eventsOfType(applied.events, 'opensim.plan-change.applied')[0]!.data;
  const recomputed = eventsOfType(applied.events, 'opensim.envelope.recomputed').at(-1)!.data;
  return {
    effectiveAt: data.appliedAt,
    envelope: data.envelope,
    thresholds: data.thresholds,
    usage: recomputed.usage,
    overageExposureBytes: data.overageExposureBytes,
    dataStateAfter: recomputed.dataState,
    crossedAtOnce: eventsOfType(applied.events, 'opensim.threshold.crossed').map((e) => e.data.threshold),
  };
}

describe('scheduled changes — properties', () => {
  it('a change scheduled for T and applied when due at T equals the immediate change at T (line, resources, month, events); refused alike when a rule says no', () => {
    fc.assert(
      fc.property(world, ahead, fc.boolean(), (w, when, suspendedMeanwhile) => {
        const state = stateOf(w, { pending: false, lineState: 'active' });
        const T = iso(dueAt(w.nowMs, when));
        const scheduled = changePlan(commandOf(w, T), state, iso(w.nowMs));
        if (scheduled.outcome !== 'scheduled') {
          // Refused now with the reason an immediate request would get now.
          const now = changePlan(commandOf(w), state, iso(w.nowMs));
          expect(scheduled).toEqual(now);
          return;
        }
        const lineState = suspendedMeanwhile ? 'suspended' : 'active';
        const atT: ChangePlanState = { ...state, line: { ...state.line!, state: lineState } };
        const due = applyScheduledChange(
          { lineId: 'L1', requestId: 'req-p' },
          { ...atT, line: { ...scheduled.line, state: lineState }, targetResource: scheduled.resources[0], decidedRequestIds: ['req-p'] },
          T,
        );
        const immediate = changePlan(commandOf(w), atT, T);
        if (immediate.outcome === 'applied') {
          expect(due).toEqual(immediate);
        } else {
          expect(immediate.outcome).toBe('rejected');
          expect(due).toMatchObject({ outcome: 'rejected', reason: immediate.outcome === 'rejected' ? immediate.reason : null, line: atT.line });
          if (due.outcome === 'rejected' && immediate.outcome === 'rejected') expect(due.events).toEqual(immediate.events);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a preview agrees with the real decision on the same state: outcome, reason, and the figures the change announces, at once or when due', () => {
    const effective = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: -10 * DAY, max: 0 }).map((ms) => ({ ms })) },
      { weight: 3, arbitrary: ahead },
      { weight: 1, arbitrary: fc.integer({ min: 401 * DAY, max: 500 * DAY }).map((ms) => ({ ms })) },
    );
    fc.assert(
      fc.property(world, effective, (w, when) => {
        const now = iso(w.nowMs);
        const command = commandOf(w, when === undefined ? undefined : iso(dueAt(w.nowMs, when)));
        const state = stateOf(w);
        const preview = previewPlanChange(command, state, now);
        const real = changePlan(command, state, now);
        switch (real.outcome) {
          case 'rejected':
            expect(preview).toMatchObject({ outcome: 'rejected', reason: real.reason, message: real.message, envelope: null, crossedAtOnce: [] });
            break;
          case 'applied':
            expect(preview).toEqual({ outcome: 'applied', reason: null, message: null, ...announced(real) });
            break;
          case 'scheduled': {
            const effectiveAt = real.line.scheduledChange!.effectiveAt;
            const due = applyScheduledChange({ lineId: 'L1', requestId: command.requestId }, { ...state, line: real.line, targetResource: real.resources[0] }, effectiveAt);
            if (due.outcome !== 'applied') throw new Error(`due: ${due.outcome}`);
            expect(preview).toEqual({ outcome: 'scheduled', reason: null, message: null, ...announced(due) });
            expect(preview.effectiveAt).toBe(effectiveAt);
            break;
          }
          case 'duplicate':
            throw new Error('nothing was decided before');
        }
      }),
      { numRuns: 300 },
    );
  });
});
