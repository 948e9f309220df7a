import { describe, expect, it } from 'vitest';
import * as domain from './index.js';
import { limitOf, type ThresholdName } from './thresholds.js';

describe('events for adapters', () => {
  it('given a payload without requestId, when the adapter rejects it, then the key uses the message id it supplies', () => {
    const event = domain.planChangeRejected({ requestId: null, clientAccountId: 'ACME', lineId: null, reason: 'INVALID_PAYLOAD', message: 'requestId: required' }, 'seq-42');
    expect(event).toEqual({
      key: 'plan-change:seq-42:rejected',
      type: 'opensim.plan-change.rejected',
      subjectKind: 'plan-change',
      data: { requestId: null, clientAccountId: 'ACME', lineId: null, reason: 'INVALID_PAYLOAD', message: 'requestId: required' },
    });
    expect(domain.planChangeRejected({ ...event.data, requestId: 'r-1' }).key).toBe('plan-change:r-1:rejected');
  });

  it('given retries are exhausted, when the adapter fails a request, then the failed event has its own key', () => {
    const data = { requestId: 'r-1', clientAccountId: 'ACME', lineId: 'L1', attempts: 5, error: 'MongoDB unreachable' };
    expect(domain.planChangeFailed(data)).toEqual({ key: 'plan-change:r-1:failed', type: 'opensim.plan-change.failed', subjectKind: 'plan-change', data });
    expect(domain.planChangeFailed({ ...data, requestId: null }).key).toBe('plan-change:unknown:failed');
  });

  it('given an order payload without orderId, when rejected, then the key falls back to the supplied id', () => {
    const data = { orderId: null, clientAccountId: 'ACME', resourceId: null, reason: 'INVALID_PAYLOAD' as const, message: 'bad' };
    expect(domain.resourceOrderRejected(data, 'seq-7').key).toBe('resource-order:seq-7:rejected');
    expect(domain.resourceOrderRejected(data).key).toBe('resource-order:unknown:rejected');
  });

  it('given a cancel payload without cancelId, when rejected, then the key falls back to the supplied id', () => {
    const data = { cancelId: null, clientAccountId: 'ACME', requestId: null, reason: 'INVALID_PAYLOAD' as const, message: 'bad' };
    expect(domain.planChangeCancelRejected(data, 'seq-9')).toEqual({ key: 'plan-change-cancel:seq-9:rejected', type: 'opensim.plan-change-cancel.rejected', subjectKind: 'plan-change', data });
    expect(domain.planChangeCancelRejected(data).key).toBe('plan-change-cancel:unknown:rejected');
  });

  it('every event type has a subject family, and the reason lists hold the contract codes', () => {
    // The cancel's outcomes and the scheduled request's go on the plan-change subject (CONTRACT.md).
    expect(Object.values(domain.SUBJECT_KIND_OF).sort()).toEqual([...Array(4).fill('mon'), ...Array(7).fill('plan-change'), 'resource-order', 'resource-order']);
    expect(domain.PLAN_CHANGE_REASONS).toHaveLength(11);
    expect(domain.PLAN_CHANGE_REASONS).toEqual(expect.arrayContaining(['CHANGE_ALREADY_SCHEDULED', 'INVALID_EFFECTIVE_DATE']));
    expect(domain.PLAN_CHANGE_CANCEL_REASONS).toEqual(['INVALID_PAYLOAD', 'TENANT_MISMATCH', 'NOT_SCHEDULED']);
    expect(domain.RESOURCE_ORDER_REASONS).toContain('RESOURCE_CONFLICT');
    expect(domain.USAGE_REASONS).toContain('UNKNOWN_LINE');
  });
});

describe('exhaustiveness guards', () => {
  it('given a variant the code does not know (bad data at runtime), when dispatched, then it throws rather than guessing', () => {
    const envelope = { month: '2026-11', days: 30, totalBytes: 1, segments: [] };
    expect(() => limitOf('NOPE' as ThresholdName, envelope, domain.NO_THRESHOLDS)).toThrow('unhandled variant: "NOPE"');
  });
});
