import { describe, expect, it } from 'vitest';
import { cancelPlanChange, type CancelPlanChangeCommand, type CancelPlanChangeState } from './cancel-plan-change.js';
import { heldResources } from './scheduled-change.js';
import { ACME, FIVE, GLOBEX, aLine, aScheduledLine } from './spec-support.js';

const NOW = '2026-11-20T10:00:00+01:00';
const aCancel = (overrides: Partial<CancelPlanChangeCommand> = {}): CancelPlanChangeCommand => ({ cancelId: 'cancel-1', clientAccountId: 'ACME', requestId: 'req-1', requestedAt: NOW, ...overrides });
const aCancelState = (overrides: Partial<CancelPlanChangeState> = {}): CancelPlanChangeState => ({ line: aScheduledLine(), service: ACME, decidedCancelIds: [], ...overrides });

describe('cancelPlanChange', () => {
  it('given a change scheduled on the line, when cancelled, then it leaves the line, its target is released, and both outcomes are emitted', () => {
    const result = cancelPlanChange(aCancel(), aCancelState(), NOW);
    if (result.outcome !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(result)}`);
    expect(result.line).toEqual(aLine());
    expect(heldResources(result.line)).toEqual(['R-20']);
    expect(result.released).toEqual({ resourceId: 'R-5', productRef: FIVE.productRef });
    expect(result.events).toEqual([
      { key: 'plan-change-cancel:cancel-1:applied', type: 'opensim.plan-change-cancel.applied', subjectKind: 'plan-change', data: { cancelId: 'cancel-1', clientAccountId: 'ACME', requestId: 'req-1', lineId: 'L1' } },
      {
        key: 'plan-change:req-1:cancelled',
        type: 'opensim.plan-change.cancelled',
        subjectKind: 'plan-change',
        data: { requestId: 'req-1', clientAccountId: 'ACME', lineId: 'L1', cancelId: 'cancel-1', cancelledAt: '2026-11-20T09:00:00.000Z' },
      },
    ]);
  });

  it('given a cancel id already decided, when it arrives again, then nothing changes (duplicate)', () => {
    expect(cancelPlanChange(aCancel(), aCancelState({ decidedCancelIds: ['cancel-1'] }), NOW)).toEqual({ outcome: 'duplicate' });
  });

  it.each([
    ['an unknown request (no line known for it)', aCancelState({ line: null, service: null })],
    ['a request applied, rejected or cancelled already (nothing pending)', aCancelState({ line: aLine() })],
    ['another request of the line pending', aCancelState({ line: aScheduledLine(undefined, { scheduledChange: { ...aScheduledLine().scheduledChange!, requestId: 'req-2' } }) })],
  ])('given %s, when cancelled, then NOT_SCHEDULED and nothing changes', (_, state) => {
    const result = cancelPlanChange(aCancel(), state, NOW);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'NOT_SCHEDULED' });
    if (result.outcome === 'rejected') {
      expect(result.events).toEqual([
        { key: 'plan-change-cancel:cancel-1:rejected', type: 'opensim.plan-change-cancel.rejected', subjectKind: 'plan-change', data: { cancelId: 'cancel-1', clientAccountId: 'ACME', requestId: 'req-1', reason: 'NOT_SCHEDULED', message: result.message } },
      ]);
    }
  });

  it("given another account's scheduled request, when ACME cancels it, then TENANT_MISMATCH, before saying whether it is pending", () => {
    const globexLine = aScheduledLine(undefined, { serviceRef: GLOBEX.serviceRef });
    expect(cancelPlanChange(aCancel(), aCancelState({ line: globexLine, service: GLOBEX }), NOW)).toMatchObject({ outcome: 'rejected', reason: 'TENANT_MISMATCH' });
    expect(cancelPlanChange(aCancel(), aCancelState({ line: aLine({ serviceRef: GLOBEX.serviceRef }), service: GLOBEX }), NOW)).toMatchObject({ reason: 'TENANT_MISMATCH' });
  });

  it("given the line's service not loaded, when cancelled, then it is an inconsistent state, not a rule", () => {
    expect(() => cancelPlanChange(aCancel(), aCancelState({ service: null }), NOW)).toThrow("service 'SRV-ACME' of line 'L1' is not loaded");
  });
});
