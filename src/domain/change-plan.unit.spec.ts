import { describe, expect, it } from 'vitest';
import { changePlan, type ChangePlanResult } from './change-plan.js';
import { prorate } from './envelope.js';
import type { Line } from './line.js';
import { ACME_OTHER, DATA_ONLY, FIVE, GLOBEX, GiB, METERED, METERED_BIS, TWENTY, aChangePlanCommand, aChangePlanState, aLine, aMonth, eventsOfType, resource } from './spec-support.js';

const NOW = '2026-11-15T10:00:00+01:00';

function rejectionOf(result: ChangePlanResult) {
  if (result.outcome !== 'rejected') throw new Error(`expected a rejection, got ${result.outcome}`);
  return result;
}
function applicationOf(result: ChangePlanResult) {
  if (result.outcome !== 'applied') throw new Error(`expected an application, got ${JSON.stringify(result)}`);
  return result;
}

describe('changePlan — each rule', () => {
  it('given a request id already decided, when it arrives again, then nothing changes (duplicate), whatever the state', () => {
    const result = changePlan(aChangePlanCommand(), aChangePlanState({ line: null, decidedRequestIds: ['req-0', 'req-1'] }), NOW);
    expect(result).toEqual({ outcome: 'duplicate' });
  });

  it('given no such line, when a change is requested, then UNKNOWN_LINE with a null lineId in the event', () => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ lineId: 'L404' }), aChangePlanState({ line: null }), NOW));
    expect(result.reason).toBe('UNKNOWN_LINE');
    expect(result.message).toContain("line 'L404' does not exist");
    expect(result.events).toEqual([
      {
        key: 'plan-change:req-1:rejected',
        type: 'opensim.plan-change.rejected',
        subjectKind: 'plan-change',
        data: { requestId: 'req-1', clientAccountId: 'ACME', lineId: null, reason: 'UNKNOWN_LINE', message: result.message },
      },
    ]);
  });

  it("given a line of another client account, when ACME requests a change, then TENANT_MISMATCH", () => {
    const line = aLine({ serviceRef: GLOBEX.serviceRef });
    const result = rejectionOf(changePlan(aChangePlanCommand({ serviceRef: GLOBEX.serviceRef }), aChangePlanState({ line }), NOW));
    expect(result.reason).toBe('TENANT_MISMATCH');
    expect(result.events[0]?.data).toMatchObject({ lineId: 'L1', reason: 'TENANT_MISMATCH' });
  });

  it("given ACME's line, when the request names another account's service, then TENANT_MISMATCH", () => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ serviceRef: GLOBEX.serviceRef }), aChangePlanState(), NOW));
    expect(result.reason).toBe('TENANT_MISMATCH');
    expect(result.message).toContain(`service '${GLOBEX.serviceRef}'`);
  });

  it("given ACME's line in another ACME service, when the request names the wrong service, then UNKNOWN_LINE", () => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ serviceRef: ACME_OTHER.serviceRef }), aChangePlanState(), NOW));
    expect(result.reason).toBe('UNKNOWN_LINE');
    expect(result.message).toContain(`is not a line of service '${ACME_OTHER.serviceRef}'`);
  });

  it.each(['suspended', 'terminated'] as const)('given a %s line, when a change is requested, then LINE_NOT_ACTIVE', (state) => {
    const result = rejectionOf(changePlan(aChangePlanCommand(), aChangePlanState({ line: aLine({ state }) }), NOW));
    expect(result.reason).toBe('LINE_NOT_ACTIVE');
    expect(result.message).toContain(state);
  });

  it('given no such target resource, when a change is requested, then UNKNOWN_RESOURCE', () => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-404' }), aChangePlanState({ targetResource: null }), NOW));
    expect(result.reason).toBe('UNKNOWN_RESOURCE');
    expect(result.message).toContain("'R-404'");
  });

  it.each([
    ['active on another line', resource('R-5', FIVE.productRef, 'active'), 'is active on another line'],
    ['the line’s own active resource', resource('R-20', TWENTY.productRef, 'active'), 'is already the active plan of this line'],
    ['a resource of another service', resource('R-5', FIVE.productRef, 'available', ACME_OTHER.serviceRef), 'is not a resource of service'],
  ])('given a target that is %s, when a change is requested, then TARGET_NOT_AVAILABLE', (_, targetResource, message) => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ targetResourceId: targetResource.resourceId }), aChangePlanState({ targetResource }), NOW));
    expect(result.reason).toBe('TARGET_NOT_AVAILABLE');
    expect(result.message).toContain(message);
  });

  it('given an available resource of the product the line already has, when a change is requested, then SAME_PLAN', () => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-20b' }), aChangePlanState({ targetResource: resource('R-20b', TWENTY.productRef) }), NOW));
    expect(result.reason).toBe('SAME_PLAN');
  });

  it.each([DATA_ONLY, METERED])('given a target of another category ($category), when a change is requested, then CATEGORY_MISMATCH', (product) => {
    const result = rejectionOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-x' }), aChangePlanState({ targetResource: resource('R-x', product.productRef) }), NOW));
    expect(result.reason).toBe('CATEGORY_MISMATCH');
    expect(result.message).toContain(product.category);
  });

  it('given a request older than the last applied change, when it arrives late, then STALE_REQUEST and the line is not rolled back', () => {
    const line = aLine({ lastAppliedRequestedAt: '2026-11-15T09:00:00.000Z' });
    const result = rejectionOf(changePlan(aChangePlanCommand({ requestedAt: '2026-11-15T09:59:00+01:00' }), aChangePlanState({ line }), NOW));
    expect(result.reason).toBe('STALE_REQUEST');
  });

  it('given a request made at the same instant as the last applied change, when it arrives, then it is not stale', () => {
    const line = aLine({ lastAppliedRequestedAt: '2026-11-15T08:59:00.000Z' });
    expect(changePlan(aChangePlanCommand(), aChangePlanState({ line }), NOW).outcome).toBe('applied');
  });
});

describe('changePlan — check order when several rules fail', () => {
  const suspended = aLine({ state: 'suspended', lastAppliedRequestedAt: '2026-12-01T00:00:00.000Z' });
  const stale = aLine({ lastAppliedRequestedAt: '2026-12-01T00:00:00.000Z' });
  it.each([
    ['unknown line beats everything', aChangePlanCommand({ serviceRef: GLOBEX.serviceRef }), { line: null, targetResource: null }, 'UNKNOWN_LINE'],
    ['tenant beats line state and target', aChangePlanCommand({ serviceRef: GLOBEX.serviceRef }), { line: suspended, targetResource: null }, 'TENANT_MISMATCH'],
    ['wrong service beats line state', aChangePlanCommand({ serviceRef: ACME_OTHER.serviceRef }), { line: suspended }, 'UNKNOWN_LINE'],
    ['line state beats unknown target', aChangePlanCommand(), { line: suspended, targetResource: null }, 'LINE_NOT_ACTIVE'],
    ['unknown target beats staleness', aChangePlanCommand(), { line: stale, targetResource: null }, 'UNKNOWN_RESOURCE'],
    ['availability beats category', aChangePlanCommand(), { targetResource: resource('R-x', DATA_ONLY.productRef, 'active') }, 'TARGET_NOT_AVAILABLE'],
    ['availability beats same plan', aChangePlanCommand(), { targetResource: resource('R-20', TWENTY.productRef, 'active') }, 'TARGET_NOT_AVAILABLE'],
    ['same plan beats staleness', aChangePlanCommand(), { line: stale, targetResource: resource('R-20b', TWENTY.productRef) }, 'SAME_PLAN'],
    ['category beats staleness', aChangePlanCommand(), { line: stale, targetResource: resource('R-x', DATA_ONLY.productRef) }, 'CATEGORY_MISMATCH'],
  ] as const)('%s', (_, command, overrides, reason) => {
    expect(rejectionOf(changePlan(command, aChangePlanState(overrides), NOW)).reason).toBe(reason);
  });
});

describe('changePlan — applied', () => {
  it('given the worked example, when 20 GiB → 5 GiB on 15 November at 10:00 Paris, then the line, resources, month and events say so', () => {
    const result = applicationOf(changePlan(aChangePlanCommand(), aChangePlanState(), NOW));

    expect(result.line.activeResourceId).toBe('R-5');
    expect(result.line.lastAppliedRequestedAt).toBe('2026-11-15T08:59:00.000Z');
    expect(result.line.planHistory.at(-1)).toEqual({ resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-11-15T09:00:00.000Z', requestId: 'req-1' });
    expect(result.resources).toEqual([resource('R-5', FIVE.productRef, 'active'), resource('R-20', TWENTY.productRef, 'available')]);
    expect(result.month.envelope.totalBytes).toBe(12884901887);
    expect(result.month.thresholds).toEqual({ reductionBytes: 4 * GiB, blockBytes: 5 * GiB, costCapCents: 3000 });

    expect(result.events.map((e) => [e.type, e.key])).toEqual([
      ['opensim.plan-change.applied', 'plan-change:req-1:applied'],
      ['opensim.envelope.recomputed', 'envelope:L1:2026-11:plan-change:req-1'],
    ]);
    expect(eventsOfType(result.events, 'opensim.plan-change.applied')[0]?.data).toEqual({
      requestId: 'req-1',
      clientAccountId: 'ACME',
      serviceRef: 'SRV-ACME',
      lineId: 'L1',
      category: 'DATA_PLUS_PER_GB',
      from: { resourceId: 'R-20', productRef: TWENTY.productRef },
      to: { resourceId: 'R-5', productRef: FIVE.productRef },
      requestedAt: '2026-11-15T09:59:00+01:00',
      appliedAt: '2026-11-15T09:00:00.000Z',
      envelope: result.month.envelope,
      thresholds: { reductionBytes: 4 * GiB, blockBytes: 5 * GiB, costCapCents: 3000 },
      usage: { usedBytes: 0 },
      overageExposureBytes: 0,
    });
    const recomputed = eventsOfType(result.events, 'opensim.envelope.recomputed')[0];
    expect(recomputed?.subjectKind).toBe('mon');
    expect(recomputed?.data).toMatchObject({ lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', cause: 'plan-change', dataState: 'normal', usage: { frBytes: 0, euBytes: 0, usedBytes: 0, spendCents: 0 } });
  });

  it('given a 5 GiB line, when upgraded to 20 GiB on the 15th, then the envelope sits below the unprorated block threshold: overage exposure shown', () => {
    const line = aLine({ activeResourceId: 'R-5', planHistory: [{ resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }] });
    const state = aChangePlanState({ line, currentResource: resource('R-5', FIVE.productRef, 'active'), targetResource: resource('R-20', TWENTY.productRef), month: aMonth(line, '2026-11') });
    const result = applicationOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-20' }), state, NOW));
    const envelope = prorate(5 * GiB, 14, 30)! + prorate(20 * GiB, 16, 30)!;
    expect(result.month.envelope.totalBytes).toBe(envelope);
    expect(eventsOfType(result.events, 'opensim.plan-change.applied')[0]?.data.overageExposureBytes).toBe(20 * GiB - envelope);
  });

  it('given a 20 GiB line that used 6 GiB, when downgraded to 5 GiB, then REDUCTION and BLOCK are crossed at once and data is blocked', () => {
    const line = aLine();
    const result = applicationOf(changePlan(aChangePlanCommand(), aChangePlanState({ month: aMonth(line, '2026-11', { frBytes: 6 * GiB }) }), NOW));
    expect(result.month.crossed).toEqual(['REDUCTION', 'BLOCK']);
    expect(result.month.dataState).toBe('blocked');
    expect(eventsOfType(result.events, 'opensim.threshold.crossed').map((e) => [e.key, e.data.limit, e.data.value])).toEqual([
      ['threshold:L1:2026-11:REDUCTION:1', 4 * GiB, 6 * GiB],
      ['threshold:L1:2026-11:BLOCK:1', 5 * GiB, 6 * GiB],
    ]);
    // The decision is the record; the alert consumer enforces it and announces the change.
    expect(eventsOfType(result.events, 'opensim.line.data-state.changed')).toEqual([]);
    expect(eventsOfType(result.events, 'opensim.envelope.recomputed')[0]?.data.dataState).toBe('blocked');
  });

  it('given a line blocked on 5 GiB, when upgraded to 20 GiB, then the block is lifted, data is normal again and a later crossing counts as a new one', () => {
    const line: Line = { ...aLine(), activeResourceId: 'R-5', planHistory: [...aLine().planHistory, { resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-11-02T09:00:00.000Z' }] };
    const blocked = { ...aMonth(line, '2026-11', { frBytes: 6 * GiB }), crossed: ['REDUCTION', 'BLOCK'] as const, dataState: 'blocked' as const };
    const month = { ...blocked, crossed: [...blocked.crossed], crossingCounts: { ...blocked.crossingCounts, REDUCTION: 1, BLOCK: 1 } };
    const state = aChangePlanState({ line, month, currentResource: resource('R-5', FIVE.productRef, 'active'), targetResource: resource('R-20', TWENTY.productRef) });
    const result = applicationOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-20' }), state, NOW));
    expect(result.month.crossed).toEqual([]);
    expect(result.month.dataState).toBe('normal');
    expect(result.month.crossingCounts).toMatchObject({ REDUCTION: 1, BLOCK: 1 });
    expect(eventsOfType(result.events, 'opensim.envelope.recomputed')[0]?.data).toMatchObject({ cause: 'plan-change', dataState: 'normal' });
  });

  it('given a metered line, when moved to another metered product, then there is no envelope and no overage exposure', () => {
    const line = aLine({ activeResourceId: 'R-m', planHistory: [{ resourceId: 'R-m', productRef: METERED.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }] });
    const state = aChangePlanState({ line, currentResource: resource('R-m', METERED.productRef, 'active'), targetResource: resource('R-m2', METERED_BIS.productRef), month: aMonth(line, '2026-11') });
    const result = applicationOf(changePlan(aChangePlanCommand({ targetResourceId: 'R-m2' }), state, NOW));
    const applied = eventsOfType(result.events, 'opensim.plan-change.applied')[0]?.data;
    expect(applied?.envelope.totalBytes).toBeNull();
    expect(applied?.envelope.segments.map((s) => [s.productRef, s.allowanceBytes, s.proratedBytes])).toEqual([
      [METERED.productRef, null, null],
      [METERED_BIS.productRef, null, null],
    ]);
    expect(applied?.overageExposureBytes).toBeNull();
    expect(applied?.thresholds.costCapCents).toBe(8000);
  });

  it('given the latest month record is October, when a change is applied in November, then November is opened first (month-start events) and the usage restarts', () => {
    const line = aLine();
    const october = { ...aMonth(line, '2026-10', { frBytes: 30 * GiB }), crossed: ['BLOCK' as const], dataState: 'blocked' as const };
    const result = applicationOf(changePlan(aChangePlanCommand(), aChangePlanState({ month: october }), NOW));
    expect(result.month.month).toBe('2026-11');
    expect(result.month.usage).toEqual({ frBytes: 0, euBytes: 0, spendCents: 0 });
    expect(result.events.map((e) => e.key)).toEqual([
      'envelope:L1:2026-11:month-start',
      'plan-change:req-1:applied',
      'envelope:L1:2026-11:plan-change:req-1',
    ]);
  });

  it('given no month record at all, when a change is applied, then the month is opened from the history', () => {
    const result = applicationOf(changePlan(aChangePlanCommand(), aChangePlanState({ month: null }), NOW));
    expect(result.month.envelope.totalBytes).toBe(12884901887);
    expect(result.events[0]?.key).toBe('envelope:L1:2026-11:month-start');
  });

  it('given a worker clock behind the last change, when applied, then the change is dated at the last change so the history stays ordered', () => {
    const line: Line = { ...aLine(), planHistory: [{ ...aLine().planHistory[0]!, effectiveAt: '2026-11-15T09:30:00.000Z' }] };
    const result = applicationOf(changePlan(aChangePlanCommand(), aChangePlanState({ line }), NOW));
    expect(result.line.planHistory.at(-1)?.effectiveAt).toBe('2026-11-15T09:30:00.000Z');
  });
});

describe('changePlan — inconsistent state is a bug, not a rejection', () => {
  it.each([
    ['the line’s service is not loaded', { services: {} }, "service 'SRV-ACME' of line 'L1' is not loaded"],
    ['the active resource is not loaded', { currentResource: null }, "active resource 'R-20' of line 'L1' is not loaded"],
    ['the target’s product is unknown', { targetResource: resource('R-x', 'NOPE') }, "product 'NOPE' is not in the catalogue"],
    ['the month record is after the change', { month: aMonth(aLine(), '2026-12') }, 'month record 2026-12'],
  ] as const)('given %s, when a change is decided, then it throws', (_, overrides, message) => {
    expect(() => changePlan(aChangePlanCommand(), aChangePlanState(overrides), NOW)).toThrow(message);
  });
});
