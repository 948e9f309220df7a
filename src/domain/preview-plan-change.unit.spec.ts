import { describe, expect, it } from 'vitest';
import { changePlan } from './change-plan.js';
import { previewPlanChange, type PreviewPlanChangeCommand } from './preview-plan-change.js';
import { DEC_1, FIVE, GLOBEX, GiB, TWENTY, aChangePlanCommand, aChangePlanState, aLine, aMonth, aScheduledLine, eventsOfType, resource } from './spec-support.js';

const NOW = '2026-11-15T10:00:00+01:00';
const { requestId: _id, requestedAt: _at, ...bare } = aChangePlanCommand();
/** What a portal asks before "Confirmez": no request id, no requestedAt. */
const aPreview = (overrides: Partial<PreviewPlanChangeCommand> = {}): PreviewPlanChangeCommand => ({ ...bare, ...overrides });
const usedSixGiB = () => aChangePlanState({ month: aMonth(aLine(), '2026-11', { frBytes: 5 * GiB, euBytes: GiB }) });

describe('previewPlanChange', () => {
  it('given a downgrade 20 → 5 GiB on the 15th with 6 GiB used, when previewed now, then applied, blocked at once: REDUCTION and BLOCK crossed', () => {
    const preview = previewPlanChange(aPreview(), usedSixGiB(), NOW);
    expect(preview).toEqual({
      outcome: 'applied',
      reason: null,
      message: null,
      effectiveAt: '2026-11-15T09:00:00.000Z',
      envelope: expect.objectContaining({ month: '2026-11', totalBytes: 12884901887 }),
      thresholds: { reductionBytes: 4 * GiB, blockBytes: 5 * GiB, costCapCents: 3000 },
      usage: { frBytes: 5 * GiB, euBytes: GiB, usedBytes: 6 * GiB, spendCents: 0 },
      overageExposureBytes: 0,
      dataStateAfter: 'blocked',
      crossedAtOnce: ['REDUCTION', 'BLOCK'],
    });
  });

  it('given the same downgrade, when previewed for 00:00 Paris on 1 December, then scheduled: the whole of December on 5 GiB, a new month used by nothing yet, nothing crossed', () => {
    const preview = previewPlanChange(aPreview({ effectiveAt: DEC_1 }), usedSixGiB(), NOW);
    expect(preview).toMatchObject({ outcome: 'scheduled', reason: null, effectiveAt: '2026-11-30T23:00:00.000Z', dataStateAfter: 'normal', crossedAtOnce: [], overageExposureBytes: 0 });
    expect(preview.envelope).toEqual({ month: '2026-12', days: 31, totalBytes: 5 * GiB, segments: [{ productRef: FIVE.productRef, fromDay: 1, toDay: 31, days: 31, allowanceBytes: 5 * GiB, proratedBytes: 5 * GiB }] });
    expect(preview.usage).toEqual({ frBytes: 0, euBytes: 0, usedBytes: 0, spendCents: 0 });
  });

  it('given a change scheduled later in the same month, when previewed, then its figures are those of applying it then on the usage of today', () => {
    const preview = previewPlanChange(aPreview({ effectiveAt: '2026-11-20T00:00:00+01:00' }), usedSixGiB(), NOW);
    expect(preview).toMatchObject({ outcome: 'scheduled', crossedAtOnce: ['REDUCTION', 'BLOCK'], dataStateAfter: 'blocked', usage: { usedBytes: 6 * GiB } });
    expect(preview.envelope?.segments.map((s) => [s.productRef, s.fromDay, s.toDay])).toEqual([[TWENTY.productRef, 1, 19], [FIVE.productRef, 20, 30]]);
  });

  it.each([
    ['an unknown line', { line: null }, 'UNKNOWN_LINE'],
    ["another account's line", { line: aLine({ serviceRef: GLOBEX.serviceRef }) }, 'TENANT_MISMATCH'],
    ['a line with a change pending', { line: aScheduledLine() }, 'CHANGE_ALREADY_SCHEDULED'],
    ['a target active on another line', { targetResource: resource('R-5', FIVE.productRef, 'active') }, 'TARGET_NOT_AVAILABLE'],
  ] as const)('given %s, when previewed, then a rejection with its reason, never an error, and no figures', (_, overrides, reason) => {
    const preview = previewPlanChange(aPreview(), aChangePlanState(overrides), NOW);
    expect(preview).toEqual({
      outcome: 'rejected', reason, message: expect.any(String),
      effectiveAt: null, envelope: null, thresholds: null, usage: null, overageExposureBytes: null, dataStateAfter: null, crossedAtOnce: [],
    });
  });

  it('given effectiveAt more than 400 days ahead, when previewed, then rejected INVALID_EFFECTIVE_DATE', () => {
    expect(previewPlanChange(aPreview({ effectiveAt: '2028-01-01T00:00:00Z' }), aChangePlanState(), NOW)).toMatchObject({ outcome: 'rejected', reason: 'INVALID_EFFECTIVE_DATE' });
  });

  it('given a request id already decided, when previewed, then it is previewed as a new request: a preview asks about the change, not the id', () => {
    const preview = previewPlanChange(aPreview({ requestId: 'req-1', requestedAt: '2026-11-15T09:59:00+01:00' }), aChangePlanState({ decidedRequestIds: ['req-1'] }), NOW);
    expect(preview.outcome).toBe('applied');
  });

  it('given requestedAt before the last applied change, when previewed with it, then STALE_REQUEST; without it the request is made now, never stale', () => {
    const state = aChangePlanState({ line: aLine({ lastAppliedRequestedAt: '2026-11-15T08:30:00.000Z' }) });
    expect(previewPlanChange(aPreview({ requestedAt: '2026-11-15T09:00:00+01:00' }), state, NOW).reason).toBe('STALE_REQUEST');
    expect(previewPlanChange(aPreview(), state, NOW).outcome).toBe('applied');
  });

  it('given a state, when previewed, then the state is left as it was and the figures are the real decision\'s', () => {
    const state = usedSixGiB();
    const before = structuredClone(state);
    const preview = previewPlanChange(aPreview(), state, NOW);
    expect(state).toEqual(before);
    const real = changePlan(aChangePlanCommand(), state, NOW);
    if (real.outcome !== 'applied') throw new Error(real.outcome);
    const applied = eventsOfType(real.events, 'opensim.plan-change.applied')[0]!.data;
    expect({ envelope: preview.envelope, thresholds: preview.thresholds, overage: preview.overageExposureBytes, effectiveAt: preview.effectiveAt }).toEqual({
      envelope: applied.envelope, thresholds: applied.thresholds, overage: applied.overageExposureBytes, effectiveAt: applied.appliedAt,
    });
    expect(preview.crossedAtOnce).toEqual(eventsOfType(real.events, 'opensim.threshold.crossed').map((e) => e.data.threshold));
  });
});
