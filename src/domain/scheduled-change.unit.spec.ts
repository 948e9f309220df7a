import { describe, expect, it } from 'vitest';
import { applyScheduledChange, type ApplyScheduledChangeResult } from './apply-scheduled-change.js';
import { changePlan, type ChangePlanResult } from './change-plan.js';
import { prorate } from './envelope.js';
import { heldResources, resourceStateOn, scheduledChangeView, scheduledRequestOf } from './scheduled-change.js';
import { ACME_OTHER, DEC_1, FIVE, GLOBEX, GiB, TWENTY, aChangePlanCommand, aChangePlanState, aLine, aMonth, aScheduledLine, eventsOfType, resource } from './spec-support.js';

const NOW = '2026-11-15T10:00:00+01:00';
const DUE = { lineId: 'L1', requestId: 'req-1' };

function scheduledOf(result: ChangePlanResult) {
  if (result.outcome !== 'scheduled') throw new Error(`expected scheduled, got ${JSON.stringify(result)}`);
  return result;
}
function reasonOf(result: ChangePlanResult | ApplyScheduledChangeResult) {
  if (result.outcome !== 'rejected') throw new Error(`expected a rejection, got ${result.outcome}`);
  return result.reason;
}
function appliedOf(result: ApplyScheduledChangeResult) {
  if (result.outcome !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(result)}`);
  return result;
}
/** The state the worker would load when L1's change falls due: the line as scheduled, R-5 reserved for it. */
function dueState(overrides: Parameters<typeof aChangePlanState>[0] = {}) {
  return aChangePlanState({ line: aScheduledLine(), targetResource: resource('R-5', FIVE.productRef, 'reserved'), decidedRequestIds: ['req-1'], ...overrides });
}

describe('changePlan with effectiveAt — scheduling', () => {
  it('given a valid request effective at 00:00 Paris on 1 December, when taken in on the 15th, then it is scheduled: the target is reserved and nothing else changes', () => {
    const state = aChangePlanState({ month: aMonth(aLine(), '2026-11', { frBytes: 6 * GiB }) });
    const result = scheduledOf(changePlan(aChangePlanCommand({ effectiveAt: DEC_1, requestedBy: 'portal' }), state, NOW));

    expect(result.line).toEqual({
      ...state.line,
      scheduledChange: {
        requestId: 'req-1', clientAccountId: 'ACME', serviceRef: 'SRV-ACME', to: { resourceId: 'R-5', productRef: FIVE.productRef },
        effectiveAt: '2026-11-30T23:00:00.000Z', requestedAt: '2026-11-15T09:59:00+01:00', requestedBy: 'portal', scheduledAt: '2026-11-15T09:00:00.000Z',
      },
    });
    expect(result.resources).toEqual([resource('R-5', FIVE.productRef, 'reserved')]);
    expect(result.month).toBe(state.month);
    expect(result.events).toEqual([
      {
        key: 'plan-change:req-1:scheduled',
        type: 'opensim.plan-change.scheduled',
        subjectKind: 'plan-change',
        data: {
          requestId: 'req-1', clientAccountId: 'ACME', serviceRef: 'SRV-ACME', lineId: 'L1', category: 'DATA_PLUS_PER_GB',
          from: { resourceId: 'R-20', productRef: TWENTY.productRef }, to: { resourceId: 'R-5', productRef: FIVE.productRef },
          requestedAt: '2026-11-15T09:59:00+01:00', effectiveAt: '2026-11-30T23:00:00.000Z',
        },
      },
    ]);
  });

  it.each([
    ['at now', NOW],
    ['in the past', '2026-11-01T00:00:00+01:00'],
  ])('given effectiveAt %s, when taken in, then it is an immediate change, as without effectiveAt', (_, effectiveAt) => {
    const withDate = changePlan(aChangePlanCommand({ effectiveAt }), aChangePlanState(), NOW);
    expect(withDate).toEqual(changePlan(aChangePlanCommand(), aChangePlanState(), NOW));
    expect(withDate.outcome).toBe('applied');
  });

  it('given effectiveAt exactly 400 days ahead, then it is scheduled; 1 ms more is INVALID_EFFECTIVE_DATE, naming the request\'s line', () => {
    const limit = new Date(Date.parse(NOW) + 400 * 86_400_000);
    expect(changePlan(aChangePlanCommand({ effectiveAt: limit.toISOString() }), aChangePlanState(), NOW).outcome).toBe('scheduled');
    const beyond = changePlan(aChangePlanCommand({ effectiveAt: new Date(limit.getTime() + 1).toISOString() }), aChangePlanState(), NOW);
    expect(reasonOf(beyond)).toBe('INVALID_EFFECTIVE_DATE');
    if (beyond.outcome === 'rejected') {
      expect(beyond.message).toContain('more than 400 days after 2026-11-15T09:00:00.000Z');
      expect(beyond.events[0]).toMatchObject({ key: 'plan-change:req-1:rejected', data: { lineId: 'L1', reason: 'INVALID_EFFECTIVE_DATE' } });
    }
  });

  it('given a scheduled request that a rule refuses now, when taken in, then it is refused now with that reason, nothing reserved', () => {
    const suspended = aChangePlanState({ line: aLine({ state: 'suspended' }) });
    expect(reasonOf(changePlan(aChangePlanCommand({ effectiveAt: DEC_1 }), suspended, NOW))).toBe('LINE_NOT_ACTIVE');
    const stale = aChangePlanState({ line: aLine({ lastAppliedRequestedAt: '2026-11-15T09:30:00.000Z' }) });
    expect(reasonOf(changePlan(aChangePlanCommand({ effectiveAt: DEC_1 }), stale, NOW))).toBe('STALE_REQUEST');
  });

  it.each([
    ['an immediate request', undefined],
    ['a scheduled request', '2026-12-15T00:00:00+01:00'],
  ])('given a line with a change pending, when %s arrives for it, then CHANGE_ALREADY_SCHEDULED', (_, effectiveAt) => {
    const state = aChangePlanState({ line: aScheduledLine(), targetResource: resource('R-10', 'FPC-10') });
    const result = changePlan(aChangePlanCommand({ requestId: 'req-2', targetResourceId: 'R-10', effectiveAt }), state, NOW);
    expect(reasonOf(result)).toBe('CHANGE_ALREADY_SCHEDULED');
    if (result.outcome === 'rejected') expect(result.message).toContain("change 'req-1' scheduled for 2026-11-30T23:00:00.000Z; cancel it first");
  });

  it("given a resource reserved for another line's scheduled change, when this line asks for it, at once or later, then TARGET_NOT_AVAILABLE", () => {
    const state = aChangePlanState({ targetResource: resource('R-5', FIVE.productRef, 'reserved') });
    for (const effectiveAt of [undefined, DEC_1]) {
      const result = changePlan(aChangePlanCommand({ requestId: 'req-2', effectiveAt }), state, NOW);
      expect(reasonOf(result)).toBe('TARGET_NOT_AVAILABLE');
      if (result.outcome === 'rejected') expect(result.message).toContain('is reserved for a change scheduled on another line');
    }
  });
});

describe('changePlan — where the two new reasons sit in the check order', () => {
  const pending = aScheduledLine();
  it.each([
    ['a duplicate beats an invalid effective date', { decidedRequestIds: ['req-1'] }, '2030-01-01T00:00:00Z', 'duplicate'],
    ['an invalid effective date beats every state rule (even an unknown line)', { line: null, targetResource: null }, '2030-01-01T00:00:00Z', 'INVALID_EFFECTIVE_DATE'],
    ['tenant beats a pending change', { line: { ...pending, serviceRef: GLOBEX.serviceRef } }, undefined, 'TENANT_MISMATCH'],
    ['a line in another service beats a pending change', { line: { ...pending, serviceRef: ACME_OTHER.serviceRef } }, undefined, 'UNKNOWN_LINE'],
    ['line state beats a pending change', { line: { ...pending, state: 'suspended' as const } }, undefined, 'LINE_NOT_ACTIVE'],
    ['a pending change beats an unknown target', { line: pending, targetResource: null }, undefined, 'CHANGE_ALREADY_SCHEDULED'],
    ['a pending change beats an unavailable target', { line: pending, targetResource: resource('R-x', FIVE.productRef, 'active') }, undefined, 'CHANGE_ALREADY_SCHEDULED'],
    ['a pending change beats staleness', { line: { ...pending, lastAppliedRequestedAt: '2026-12-01T00:00:00.000Z' } }, undefined, 'CHANGE_ALREADY_SCHEDULED'],
  ] as const)('%s', (_, overrides, effectiveAt, expected) => {
    const result = changePlan(aChangePlanCommand({ effectiveAt }), aChangePlanState(overrides), NOW);
    expect(result.outcome === 'rejected' ? result.reason : result.outcome).toBe(expected);
  });
});

describe('applyScheduledChange — when the change falls due', () => {
  it('given 00:00 Paris on 1 December and November still the latest record, then December is opened first and the new plan owns all of it', () => {
    const result = appliedOf(applyScheduledChange(DUE, dueState({ month: aMonth(aLine(), '2026-11', { frBytes: 6 * GiB }) }), DEC_1));
    expect(result.month.envelope).toEqual({
      month: '2026-12', days: 31, totalBytes: 5 * GiB,
      segments: [{ productRef: FIVE.productRef, fromDay: 1, toDay: 31, days: 31, allowanceBytes: 5 * GiB, proratedBytes: 5 * GiB }],
    });
    expect(result.month.usage).toEqual({ frBytes: 0, euBytes: 0, spendCents: 0 });
    expect(result.events.map((e) => e.key)).toEqual(['envelope:L1:2026-12:month-start', 'plan-change:req-1:applied', 'envelope:L1:2026-12:plan-change:req-1']);
    expect(result.line.scheduledChange).toBeUndefined();
    expect(result.line).toMatchObject({ activeResourceId: 'R-5', lastAppliedRequestedAt: '2026-11-15T08:59:00.000Z' });
    expect(result.line.planHistory.at(-1)).toEqual({ resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-11-30T23:00:00.000Z', requestId: 'req-1' });
    expect(result.resources).toEqual([resource('R-5', FIVE.productRef, 'active'), resource('R-20', TWENTY.productRef, 'available')]);
    expect(eventsOfType(result.events, 'opensim.plan-change.applied')[0]?.data).toMatchObject({ requestedAt: '2026-11-15T09:59:00+01:00', appliedAt: '2026-11-30T23:00:00.000Z' });
  });

  it('given the rollover already opened December, when the change applies at 00:00, then the same whole month on the new plan, without a second month start', () => {
    const result = appliedOf(applyScheduledChange(DUE, dueState({ month: aMonth(aLine(), '2026-12') }), DEC_1));
    expect(result.month.envelope.segments.map((s) => [s.productRef, s.fromDay, s.toDay])).toEqual([[FIVE.productRef, 1, 31]]);
    expect(result.events.map((e) => e.key)).toEqual(['plan-change:req-1:applied', 'envelope:L1:2026-12:plan-change:req-1']);
  });

  it('given every process was down at effectiveAt, when applied late on 3 December, then appliedAt is the real instant and the envelope is computed for it', () => {
    const late = '2026-12-03T10:00:00+01:00';
    const result = appliedOf(applyScheduledChange(DUE, dueState({ month: aMonth(aLine(), '2026-12') }), late));
    expect(result.line.planHistory.at(-1)?.effectiveAt).toBe('2026-12-03T09:00:00.000Z');
    expect(result.month.envelope.segments.map((s) => [s.productRef, s.fromDay, s.toDay])).toEqual([[TWENTY.productRef, 1, 2], [FIVE.productRef, 3, 31]]);
    expect(result.month.envelope.totalBytes).toBe(prorate(20 * GiB, 2, 31)! + prorate(5 * GiB, 29, 31)!);
  });

  it.each([
    ['reserved (the loader says which line holds it and how)', 'reserved'],
    ['active (a loader that only knows "held")', 'active'],
    ['available (the reservation not projected)', 'available'],
  ] as const)('given the target read as %s, when due, then it is the change\'s own reservation and applies', (_, state) => {
    expect(applyScheduledChange(DUE, dueState({ targetResource: resource('R-5', FIVE.productRef, state) }), DEC_1).outcome).toBe('applied');
  });

  it('given the line was suspended meanwhile, when due, then it is rejected LINE_NOT_ACTIVE and the reservation released', () => {
    const state = dueState({ line: aScheduledLine(DEC_1, { state: 'suspended' }) });
    const result = applyScheduledChange(DUE, state, '2026-12-01T00:00:01+01:00');
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'LINE_NOT_ACTIVE', resources: [resource('R-5', FIVE.productRef, 'available')], month: state.month });
    if (result.outcome !== 'rejected') return;
    expect(result.line).toEqual(aLine({ state: 'suspended' }));
    expect(result.events).toEqual([
      { key: 'plan-change:req-1:rejected', type: 'opensim.plan-change.rejected', subjectKind: 'plan-change', data: { requestId: 'req-1', clientAccountId: 'ACME', lineId: 'L1', reason: 'LINE_NOT_ACTIVE', message: "line 'L1' is suspended" } },
    ]);
  });

  it('given the target resource no longer exists, when due, then UNKNOWN_RESOURCE and nothing to release but the line\'s hold', () => {
    const result = applyScheduledChange(DUE, dueState({ targetResource: null }), DEC_1);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'UNKNOWN_RESOURCE', resources: [] });
    if (result.outcome === 'rejected') expect(heldResources(result.line)).toEqual(['R-20']);
  });

  it.each([
    ['another request is pending', dueState({ line: aScheduledLine(DEC_1, { scheduledChange: { ...aScheduledLine().scheduledChange!, requestId: 'req-9' } }) })],
    ['nothing is pending (applied, rejected or cancelled meanwhile)', dueState({ line: aLine() })],
    ['the line is gone', dueState({ line: null })],
  ])('given %s, when a trigger for req-1 fires, then nothing changes', (_, state) => {
    expect(applyScheduledChange(DUE, state, DEC_1)).toEqual({ outcome: 'not-scheduled' });
  });

  it('given a trigger before effectiveAt (a clock ahead), then it is not due yet and says when', () => {
    expect(applyScheduledChange(DUE, dueState(), '2026-11-30T23:59:59+01:00')).toEqual({ outcome: 'not-due', effectiveAt: '2026-11-30T23:00:00.000Z' });
  });

  it('given the scheduled change applied, when a later request was made before it, then STALE_REQUEST: the scheduled one is the last applied', () => {
    const applied = appliedOf(applyScheduledChange(DUE, dueState(), DEC_1));
    const next = aChangePlanState({ line: applied.line, currentResource: resource('R-5', FIVE.productRef, 'active'), targetResource: resource('R-10', 'FPC-10'), month: applied.month });
    const result = changePlan(aChangePlanCommand({ requestId: 'req-2', targetResourceId: 'R-10', requestedAt: '2026-11-15T09:00:00+01:00' }), next, '2026-12-02T10:00:00+01:00');
    expect(reasonOf(result)).toBe('STALE_REQUEST');
  });
});

describe('scheduled change helpers for adapters', () => {
  it('given a line with a scheduled change, then it holds its active resource and the reserved one, and says which is which', () => {
    const line = aScheduledLine();
    expect(heldResources(line)).toEqual(['R-20', 'R-5']);
    expect(heldResources(aLine())).toEqual(['R-20']);
    expect([resourceStateOn(line, 'R-20'), resourceStateOn(line, 'R-5'), resourceStateOn(line, 'R-10')]).toEqual(['active', 'reserved', 'available']);
  });

  it('given a line with a scheduled change, then the view shows the contract fields and the request is rebuilt as it was taken in', () => {
    const line = aScheduledLine(DEC_1, { scheduledChange: { ...aScheduledLine().scheduledChange!, requestedBy: 'portal' } });
    expect(scheduledChangeView(line)).toEqual({ requestId: 'req-1', to: { resourceId: 'R-5', productRef: FIVE.productRef }, effectiveAt: '2026-11-30T23:00:00.000Z' });
    expect(scheduledRequestOf(line)).toEqual({ ...aChangePlanCommand(), requestedBy: 'portal' });
    expect([scheduledChangeView(aLine()), scheduledRequestOf(aLine())]).toEqual([null, null]);
  });
});
