import { describe, expect, it } from 'vitest';
import { rollMonth } from './rollover.js';
import { FIVE, GiB, aLine, aMonth, eventsOfType, products } from './spec-support.js';
import { registerLine } from './line.js';

describe('rollMonth', () => {
  it('given a blocked November, when December starts, then usage is zero, crossings cleared, state normal, envelope the current plan’s (the alert consumer lifts the block on this event)', () => {
    const line = aLine();
    const november = { ...aMonth(line, '2026-11', { frBytes: 21 * GiB, spendCents: 900 }), crossed: ['ENVELOPE_80' as const, 'BLOCK' as const], dataState: 'blocked' as const };
    const result = rollMonth({ line, clientAccountId: 'ACME', products, month: november }, '2026-12');
    if (result.outcome !== 'rolled') throw new Error('expected rolled');
    expect(result.month).toMatchObject({ month: '2026-12', usage: { frBytes: 0, euBytes: 0, spendCents: 0 }, crossed: [], dataState: 'normal' });
    expect(result.month.envelope.totalBytes).toBe(20 * GiB);
    expect(result.month.crossingCounts).toEqual({ ENVELOPE_80: 0, ENVELOPE_100: 0, REDUCTION: 0, BLOCK: 0, COST_CAP: 0 });
    expect(result.events.map((e) => e.key)).toEqual(['envelope:L1:2026-12:month-start']);
    expect(eventsOfType(result.events, 'opensim.envelope.recomputed')[0]?.data).toMatchObject({ cause: 'month-start', overageExposureBytes: 0, dataState: 'normal' });
  });

  it('given a normal November, when December starts, then only the envelope is announced', () => {
    const line = aLine();
    const result = rollMonth({ line, clientAccountId: 'ACME', products, month: aMonth(line, '2026-11') }, '2026-12');
    expect(result.outcome === 'rolled' && result.events.map((e) => e.type)).toEqual(['opensim.envelope.recomputed']);
  });

  it('given a line activated on 21 November, when its first month is opened, then the envelope is prorated from activation (cause activation)', () => {
    const line = registerLine({ lineId: 'L2', serviceRef: 'SRV-ACME', state: 'active', activatedAt: '2026-11-21T15:00:00+01:00', activeResourceId: 'R-5' }, { resourceId: 'R-5', serviceRef: 'SRV-ACME', productRef: FIVE.productRef, state: 'active' });
    const result = rollMonth({ line, clientAccountId: 'ACME', products, month: null }, '2026-11');
    if (result.outcome !== 'rolled') throw new Error('expected rolled');
    expect(result.month.envelope.totalBytes).toBe(1789569706);
    expect(result.events[0]).toMatchObject({ key: 'envelope:L2:2026-11:activation', data: { cause: 'activation' } });
  });

  it.each(['2026-11', '2026-10'])('given November is already open, when rolling to %s again, then nothing happens (idempotent)', (month) => {
    const line = aLine();
    expect(rollMonth({ line, clientAccountId: 'ACME', products, month: aMonth(line, '2026-11') }, month)).toEqual({ outcome: 'unchanged' });
  });

  it('given a bad month, when rolling, then it is refused', () => {
    expect(() => rollMonth({ line: aLine(), clientAccountId: 'ACME', products, month: null }, '2026-1')).toThrow("invalid month '2026-1'");
  });
});

describe('registerLine', () => {
  it('given a line and another resource than its active one, when registered, then it throws', () => {
    expect(() => registerLine({ lineId: 'L3', serviceRef: 'S', state: 'active', activatedAt: '2026-11-01T00:00:00Z', activeResourceId: 'R-a' }, { resourceId: 'R-b', serviceRef: 'S', productRef: FIVE.productRef, state: 'active' })).toThrow(
      "line 'L3' is active on 'R-a', not 'R-b'",
    );
  });
});
