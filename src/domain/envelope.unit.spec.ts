import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daysInMonth, parisDay } from './calendar.js';
import { computeEnvelope, prorate, productRefAtEndOf, type PlanPeriodStart } from './envelope.js';
import { FIVE, GiB, METERED, TEN, TWENTY, products } from './spec-support.js';

const plan = (productRef: string, effectiveAt: string): PlanPeriodStart => ({ productRef, effectiveAt });
const OCT = '2026-10-01T00:00:00+02:00';
const seg = (productRef: string, fromDay: number, toDay: number, allowanceBytes: number | null, proratedBytes: number | null) => ({
  productRef,
  fromDay,
  toDay,
  days: toDay - fromDay + 1,
  allowanceBytes,
  proratedBytes,
});

describe('computeEnvelope — table', () => {
  it.each([
    {
      name: 'worked example of BRIEF.md: 20 GiB since October, 5 GiB from 15 Nov 10:00 Paris',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-15T10:00:00+01:00')],
      month: '2026-11',
      totalBytes: 12884901887,
      segments: [seg('FPC367679', 1, 14, 20 * GiB, 10021590357), seg('FPC367678', 15, 30, 5 * GiB, 2863311530)],
    },
    {
      name: 'leap February 2028 (D = 29): change on the 15th',
      history: [plan(TWENTY.productRef, '2028-01-01T00:00:00+01:00'), plan(FIVE.productRef, '2028-02-15T12:00:00+01:00')],
      month: '2028-02',
      totalBytes: 13144080948,
      segments: [seg('FPC367679', 1, 14, 20 * GiB, 10367162438), seg('FPC367678', 15, 29, 5 * GiB, 2776918510)],
    },
    {
      name: 'change at 23:30 UTC on 30 November: December in Paris, November keeps the old plan whole',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-30T23:30:00Z')],
      month: '2026-11',
      totalBytes: 20 * GiB,
      segments: [seg('FPC367679', 1, 30, 20 * GiB, 20 * GiB)],
    },
    {
      name: '… and December belongs wholly to the new plan',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-30T23:30:00Z')],
      month: '2026-12',
      totalBytes: 5 * GiB,
      segments: [seg('FPC367678', 1, 31, 5 * GiB, 5 * GiB)],
    },
    {
      name: 'spring DST night: 2026-03-29T22:30Z is 30 March in Paris',
      history: [plan(TWENTY.productRef, '2026-02-01T00:00:00+01:00'), plan(FIVE.productRef, '2026-03-29T22:30:00Z')],
      month: '2026-03',
      totalBytes: 20435731488,
      segments: [seg('FPC367679', 1, 29, 20 * GiB, 20089363158), seg('FPC367678', 30, 31, 5 * GiB, 346368330)],
    },
    {
      name: 'autumn DST: 2026-10-25T22:30Z is still 25 October in Paris (UTC+1 again)',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-10-25T22:30:00Z')],
      month: '2026-10',
      totalBytes: 17837969011,
      segments: [seg('FPC367679', 1, 24, 20 * GiB, 16625679855), seg('FPC367678', 25, 31, 5 * GiB, 1212289156)],
    },
    {
      name: 'autumn DST: 2026-10-25T23:00Z is 26 October in Paris',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-10-25T23:00:00Z')],
      month: '2026-10',
      totalBytes: 18357521506,
      segments: [seg('FPC367679', 1, 25, 20 * GiB, 17318416516), seg('FPC367678', 26, 31, 5 * GiB, 1039104990)],
    },
    {
      name: 'two changes on one day: the plan in force at the end of the day owns it',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-15T09:00:00+01:00'), plan(TEN.productRef, '2026-11-15T18:00:00+01:00')],
      month: '2026-11',
      totalBytes: 15748213418,
      segments: [seg('FPC367679', 1, 14, 20 * GiB, 10021590357), seg('FPC-10', 15, 30, 10 * GiB, 5726623061)],
    },
    {
      name: 'there and back on one day: the day stays with the plan, one segment',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-15T09:00:00+01:00'), plan(TWENTY.productRef, '2026-11-15T18:00:00+01:00')],
      month: '2026-11',
      totalBytes: 20 * GiB,
      segments: [seg('FPC367679', 1, 30, 20 * GiB, 20 * GiB)],
    },
    {
      name: 'going back to an earlier plan starts a new segment',
      history: [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-10T08:00:00+01:00'), plan(TWENTY.productRef, '2026-11-20T08:00:00+01:00')],
      month: '2026-11',
      totalBytes: 16106127359,
      segments: [seg('FPC367679', 1, 9, 20 * GiB, 6442450944), seg('FPC367678', 10, 19, 5 * GiB, 1789569706), seg('FPC367679', 20, 30, 20 * GiB, 7874106709)],
    },
    {
      name: 'activation inside the month starts the first segment',
      history: [plan(FIVE.productRef, '2026-11-21T15:00:00+01:00')],
      month: '2026-11',
      totalBytes: 1789569706,
      segments: [seg('FPC367678', 21, 30, 5 * GiB, 1789569706)],
    },
    {
      name: 'a metered product has no envelope',
      history: [plan(METERED.productRef, OCT)],
      month: '2026-11',
      totalBytes: null,
      segments: [seg(METERED.productRef, 1, 30, null, null)],
    },
    {
      name: 'a month before activation: no day owned, no segment',
      history: [plan(TWENTY.productRef, OCT)],
      month: '2026-09',
      totalBytes: 0,
      segments: [],
    },
    {
      name: 'history given out of order is read in time order',
      history: [plan(FIVE.productRef, '2026-11-15T10:00:00+01:00'), plan(TWENTY.productRef, OCT)],
      month: '2026-11',
      totalBytes: 12884901887,
      segments: [seg('FPC367679', 1, 14, 20 * GiB, 10021590357), seg('FPC367678', 15, 30, 5 * GiB, 2863311530)],
    },
  ])('$name', ({ history, month, totalBytes, segments }) => {
    const envelope = computeEnvelope(history, month, products);
    expect(envelope).toEqual({ month, days: daysInMonth(month), totalBytes, segments });
  });

  it('given a history naming an unknown product, when computed, then it fails naming the product', () => {
    expect(() => computeEnvelope([plan('NOPE', OCT)], '2026-11', products)).toThrow("product 'NOPE' is not in the catalogue");
  });

  it('given a bad month, when computed, then it is refused', () => {
    expect(() => computeEnvelope([plan(TWENTY.productRef, OCT)], '2026-11-01', products)).toThrow("invalid month '2026-11-01'");
  });

  it('given the largest allowance over 31 days, when prorated, then integer arithmetic stays exact', () => {
    expect(prorate(Number.MAX_SAFE_INTEGER, 30, 31)).toBe(Number((BigInt(Number.MAX_SAFE_INTEGER) * 30n) / 31n));
    expect(prorate(null, 3, 30)).toBeNull();
  });

  it('given a history, when the plan at the end of a month is asked, then it is the last one owning a day of it', () => {
    const history = [plan(TWENTY.productRef, OCT), plan(FIVE.productRef, '2026-11-30T23:30:00Z')];
    expect(productRefAtEndOf(history, '2026-09')).toBeNull();
    expect(productRefAtEndOf(history, '2026-11')).toBe(TWENTY.productRef);
    expect(productRefAtEndOf(history, '2026-12')).toBe(FIVE.productRef);
  });
});

describe('computeEnvelope — properties', () => {
  const bundled = [FIVE, TEN, TWENTY];
  const monthArb = fc.record({ year: fc.integer({ min: 2024, max: 2032 }), m: fc.integer({ min: 1, max: 12 }) }).map(({ year, m }) => `${year}-${String(m).padStart(2, '0')}`);
  const scenario = monthArb.chain((month) => {
    const start = Date.parse(`${month}-01T00:00:00Z`) - 3 * 86_400_000;
    const end = start + 40 * 86_400_000;
    const entry = fc.record({ product: fc.constantFrom(...bundled), ms: fc.integer({ min: start, max: end }) });
    return fc.record({ month: fc.constant(month), entries: fc.array(entry, { minLength: 1, maxLength: 6 }) });
  });
  const historyOf = (entries: { product: { productRef: string }; ms: number }[]) =>
    [...entries].sort((a, b) => a.ms - b.ms).map((e) => plan(e.product.productRef, new Date(e.ms).toISOString()));

  it('the envelope lies between the smallest and largest allowance of the plans involved, prorated to the days owned (floor tolerance: one byte per segment)', () => {
    fc.assert(
      fc.property(scenario, ({ month, entries }) => {
        const envelope = computeEnvelope(historyOf(entries), month, products);
        const owned = BigInt(envelope.segments.reduce((sum, s) => sum + s.days, 0));
        const allowances = envelope.segments.map((s) => BigInt(s.allowanceBytes!));
        if (allowances.length === 0) return envelope.totalBytes === 0;
        const D = BigInt(envelope.days);
        const total = BigInt(envelope.totalBytes!);
        const min = allowances.reduce((a, b) => (b < a ? b : a));
        const max = allowances.reduce((a, b) => (b > a ? b : a));
        return total * D <= max * owned && total * D >= min * owned - BigInt(envelope.segments.length) * D;
      }),
    );
  });

  it('segments are contiguous runs of distinct plans whose days add up to the days owned since activation', () => {
    fc.assert(
      fc.property(scenario, ({ month, entries }) => {
        const history = historyOf(entries);
        const envelope = computeEnvelope(history, month, products);
        const activationDay = parisDay(history[0]!.effectiveAt);
        const firstOwned = activationDay < `${month}-01` ? 1 : activationDay.startsWith(month) ? Number(activationDay.slice(8)) : envelope.days + 1;
        const owned = envelope.days - firstOwned + 1;
        expect(envelope.segments.reduce((sum, s) => sum + s.days, 0)).toBe(owned);
        envelope.segments.forEach((s, i) => {
          expect(s.days).toBe(s.toDay - s.fromDay + 1);
          if (i === 0) expect(s.fromDay).toBe(firstOwned);
          else {
            expect(s.fromDay).toBe(envelope.segments[i - 1]!.toDay + 1);
            expect(s.productRef).not.toBe(envelope.segments[i - 1]!.productRef);
          }
        });
      }),
    );
  });

  it('the envelope does not depend on the order the history is stored in', () => {
    fc.assert(
      fc.property(scenario, ({ month, entries }) => {
        const distinct = entries.filter((e, i) => entries.findIndex((o) => o.ms === e.ms) === i);
        const history = historyOf(distinct);
        expect(computeEnvelope([...history].reverse(), month, products)).toEqual(computeEnvelope(history, month, products));
      }),
    );
  });
});
