import { describe, expect, it } from 'vitest';
import { changePlan } from './change-plan.js';
import type { Enforcement } from './decide-alert.js';
import { eventsOfType, aChangePlanCommand, aChangePlanState, aLine, aMonth, aUsage, aUsageState, GiB, METERED, products, resource, TWENTY } from './spec-support.js';
import { lineView, type LineViewSource } from './line-view.js';
import { recordUsage } from './usage.js';
import { InconsistentStateError } from './catalog.js';
import { registerLine } from './line.js';

const NOV_20 = '2026-11-20T09:00:00.000Z';

function aSource(overrides: Partial<LineViewSource> = {}): LineViewSource {
  const line = aLine();
  return { line, clientAccountId: 'ACME', month: aMonth(line, '2026-11'), enforcement: null, scheduledChange: null, version: 3, updatedAt: '2026-11-19T08:00:00.000Z', ...overrides };
}

describe('lineView', () => {
  it('given a record of the current month with usage, then the view carries its figures, the plan and the document facts', () => {
    const line = aLine();
    const month = { ...aMonth(line, '2026-11', { frBytes: 3 * GiB, euBytes: GiB, spendCents: 120 }), crossed: [], dataState: 'normal' as const };
    const view = lineView(aSource({ month }), products, NOV_20);
    expect(view).toEqual({
      lineId: 'L1',
      clientAccountId: 'ACME',
      serviceRef: 'SRV-ACME',
      state: 'active',
      dataState: 'normal',
      month: '2026-11',
      plan: { resourceId: 'R-20', productRef: 'FPC367679', label: 'Forfait mobile Data 20 Go', category: 'DATA_PLUS_PER_GB' },
      envelope: month.envelope,
      thresholds: { reductionBytes: 16 * GiB, blockBytes: 20 * GiB, costCapCents: 5000 },
      usage: { frBytes: 3 * GiB, euBytes: GiB, usedBytes: 4 * GiB, spendCents: 120 },
      remainingBytes: 16 * GiB,
      overageExposureBytes: 0,
      crossed: [],
      scheduledChange: null,
      enforcement: null,
      version: 3,
      updatedAt: '2026-11-19T08:00:00.000Z',
    });
    expect(view.envelope.totalBytes).toBe(20 * GiB);
  });

  it('given a just-seeded line without a record, then the view is the month the next decision would open: full envelope, nothing used', () => {
    const view = lineView(aSource({ month: null, version: 0, updatedAt: null }), products, NOV_20);
    expect(view).toMatchObject({ month: '2026-11', dataState: 'normal', crossed: [], usage: { usedBytes: 0, spendCents: 0 }, remainingBytes: 20 * GiB, version: 0, updatedAt: null });
    expect(view.envelope.totalBytes).toBe(20 * GiB);
  });

  it("given a record of last month (not rolled yet), then the view shows this month opened, not last month's usage", () => {
    const line = aLine();
    const october = { ...aMonth(line, '2026-10', { frBytes: 21 * GiB }), crossed: ['ENVELOPE_80', 'ENVELOPE_100', 'REDUCTION', 'BLOCK'] as const, dataState: 'blocked' as const };
    const view = lineView(aSource({ month: { ...october, crossed: [...october.crossed] } }), products, NOV_20);
    expect(view).toMatchObject({ month: '2026-11', dataState: 'normal', crossed: [], usage: { frBytes: 0, usedBytes: 0 } });
    expect(view.envelope.month).toBe('2026-11');
  });

  it('given a record of a later month than now (a clock behind at midnight), then that record is shown as it is', () => {
    const line = aLine();
    const december = aMonth(line, '2026-12', { euBytes: GiB });
    expect(lineView(aSource({ month: december }), products, '2026-11-30T22:59:59.000Z')).toMatchObject({ month: '2026-12', usage: { euBytes: GiB } });
  });

  it('given a downgrade applied on the 15th, then the view and its envelope.recomputed event agree on every figure', () => {
    const state = aChangePlanState({ month: aMonth(aLine(), '2026-11', { frBytes: 6 * GiB }) });
    const result = changePlan(aChangePlanCommand(), state, '2026-11-15T09:00:00.000Z');
    if (result.outcome !== 'applied') throw new Error(`expected applied, got ${result.outcome}`);
    const [recomputed] = eventsOfType(result.events, 'opensim.envelope.recomputed');
    const view = lineView(aSource({ line: result.line, month: result.month }), products, '2026-11-15T09:00:01.000Z');
    const { cause: _cause, ...data } = recomputed!.data;
    expect({ ...data, usage: view.usage }).toEqual({
      lineId: view.lineId,
      clientAccountId: view.clientAccountId,
      month: view.month,
      envelope: view.envelope,
      thresholds: view.thresholds,
      usage: view.usage,
      overageExposureBytes: view.overageExposureBytes,
      dataState: view.dataState,
    });
    expect(view).toMatchObject({ plan: { resourceId: 'R-5', productRef: 'FPC367678', label: 'Forfait mobile 5 Go' }, dataState: 'blocked', crossed: ['REDUCTION', 'BLOCK'] });
    // BRIEF.md's worked example: 20 GiB for days 1-14, 5 GiB for days 15-30.
    expect(view.envelope.totalBytes).toBe(12_884_901_887);
  });

  it('given usage recorded, then the view and its usage.updated event agree on usage, envelope, remaining bytes and data state', () => {
    const result = recordUsage(aUsage({ bytes: 17 * GiB, zone: 'EU' }), aUsageState(), NOV_20);
    if (result.outcome !== 'recorded') throw new Error(`expected recorded, got ${result.outcome}`);
    const [updated] = eventsOfType(result.events, 'opensim.usage.updated');
    const view = lineView(aSource({ month: result.month }), products, NOV_20);
    expect(updated!.data).toEqual({ lineId: 'L1', clientAccountId: 'ACME', month: view.month, usage: view.usage, envelopeBytes: view.envelope.totalBytes, remainingBytes: view.remainingBytes, dataState: view.dataState });
    expect(view).toMatchObject({ dataState: 'reduced', remainingBytes: 3 * GiB, crossed: ['ENVELOPE_80', 'REDUCTION'] });
  });

  it("given an enforcement, then it is shown for its own month only (every month starts enforced normal)", () => {
    const enforcement: Enforcement = { month: '2026-11', state: 'reduced', reason: 'REDUCTION', since: '2026-11-18T10:00:00.000Z', actedOn: ['threshold:L1:2026-11:REDUCTION:1'] };
    expect(lineView(aSource({ enforcement }), products, NOV_20).enforcement).toEqual({ state: 'reduced', reason: 'REDUCTION', since: '2026-11-18T10:00:00.000Z' });
    expect(lineView(aSource({ enforcement: { ...enforcement, month: '2026-10' } }), products, NOV_20).enforcement).toBeNull();
  });

  it('given a metered plan, then there is no envelope: remaining bytes and overage exposure are null', () => {
    const line = registerLine({ lineId: 'L1', serviceRef: 'SRV-ACME', state: 'active', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: 'R-M' }, resource('R-M', METERED.productRef, 'active'));
    const view = lineView(aSource({ line, month: null }), products, NOV_20);
    expect(view).toMatchObject({ plan: { category: 'VOICE_DATA_METERED' }, remainingBytes: null, overageExposureBytes: null, thresholds: { blockBytes: 10 * GiB } });
    expect(view.envelope.totalBytes).toBeNull();
  });

  it('given a scheduled change, then it is passed through; a suspended line shows its state', () => {
    const scheduledChange = { requestId: 'req-later', to: { resourceId: 'R-5', productRef: 'FPC367678' }, effectiveAt: '2026-12-01T00:00:00.000+01:00' };
    const view = lineView(aSource({ scheduledChange, line: aLine({ state: 'suspended' }) }), products, NOV_20);
    expect(view).toMatchObject({ scheduledChange, state: 'suspended' });
  });

  it('given a product of the history missing from the catalogue, then it is an inconsistent state, not a guess', () => {
    const { [TWENTY.productRef]: _missing, ...without } = products;
    expect(() => lineView(aSource({ month: null }), without, NOV_20)).toThrow(InconsistentStateError);
  });
});
