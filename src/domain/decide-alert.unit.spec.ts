import { describe, expect, it } from 'vitest';
import { ACTED_ON_KEPT, decideAlert, type AlertTrigger, type Enforcement } from './decide-alert.js';
import { envelopeRecomputedData, type LineMonth } from './line-month.js';
import { evaluateThresholds } from './evaluate-thresholds.js';
import { FIVE, GiB, aLine, aMonth, products } from './spec-support.js';
import { openMonth } from './line-month.js';
import { prorate } from './envelope.js';
import type { ThresholdName } from './thresholds.js';
import type { EnvelopeCause } from './events.js';

const NOW = '2026-11-20T12:00:00+01:00';

/** ACME's L1 on 20 GiB in November with `usedGiB` used, evaluated. */
function november(usedGiB: number, spendCents = 0): LineMonth {
  return evaluateThresholds({ ...aMonth(aLine(), '2026-11'), usage: { frBytes: usedGiB * GiB, euBytes: 0, spendCents } }).record;
}

function crossing(record: LineMonth, threshold: ThresholdName, n = 1): AlertTrigger {
  return { id: `threshold:L1:${record.month}:${threshold}:${n}`, type: 'opensim.threshold.crossed', data: { lineId: 'L1', clientAccountId: 'ACME', month: record.month, threshold, limit: 1, value: 1 } };
}

function recomputed(record: LineMonth, cause: EnvelopeCause, id = `envelope:L1:${record.month}:${cause}`): AlertTrigger {
  return { id, type: 'opensim.envelope.recomputed', data: envelopeRecomputedData(record, cause) };
}

const enforced = (state: Enforcement['state'], month = '2026-11', actedOn: string[] = []): Enforcement => ({ month, state, reason: state === 'blocked' ? 'BLOCK' : 'REDUCTION', since: '2026-11-10T00:00:00.000Z', actedOn });

function decided(trigger: AlertTrigger, record: LineMonth, enforcement: Enforcement | null) {
  const result = decideAlert(trigger, { record, enforcement }, NOW);
  if (result.outcome !== 'decided') throw new Error(`expected decided, got ${result.outcome}`);
  return result;
}

describe('decideAlert — tightening on crossings', () => {
  it('given 80 % of the envelope crossed, then the user is warned and nothing is enforced', () => {
    const record = november(16.5);
    const result = decided(crossing(record, 'ENVELOPE_80'), record, null);
    expect(result.warning).toMatchObject({ id: 'threshold:L1:2026-11:ENVELOPE_80:1', threshold: 'ENVELOPE_80', lineId: 'L1', clientAccountId: 'ACME', month: '2026-11' });
    expect(result.enforcement).toBeNull();
    expect(result.events).toEqual([]);
  });

  it('given REDUCTION crossed, then data is throttled: reduced, announced once, with the reason and a key of its own', () => {
    const record = november(16.5);
    const result = decided(crossing(record, 'REDUCTION'), record, null);
    expect(result.enforcement).toEqual({ month: '2026-11', state: 'reduced', reason: 'REDUCTION', since: '2026-11-20T11:00:00.000Z', actedOn: ['threshold:L1:2026-11:REDUCTION:1'] });
    expect(result.events).toEqual([
      {
        key: 'data-state:L1:2026-11:alert:threshold:L1:2026-11:REDUCTION:1',
        type: 'opensim.line.data-state.changed',
        subjectKind: 'mon',
        data: { lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', from: 'normal', to: 'reduced', reason: 'REDUCTION' },
      },
    ]);
  });

  it.each([
    ['BLOCK', november(21), 'reduced', 'BLOCK'],
    ['COST_CAP', november(1, 5000), 'normal', 'COST_CAP'],
  ] as const)('given %s crossed, then data is blocked', (threshold, record, from, reason) => {
    const result = decided(crossing(record, threshold), record, from === 'normal' ? null : enforced(from));
    expect(result.events.map((e) => e.data)).toEqual([{ lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', from, to: 'blocked', reason }]);
  });

  it('given REDUCTION and BLOCK crossed in one decision, then REDUCTION throttles and BLOCK blocks, one step each', () => {
    const record = november(21);
    const first = decided(crossing(record, 'REDUCTION'), record, null);
    const second = decided(crossing(record, 'BLOCK'), record, first.enforcement);
    expect([...first.events, ...second.events].map((e) => `${e.data.from}>${e.data.to}:${e.data.reason}`)).toEqual(['normal>reduced:REDUCTION', 'reduced>blocked:BLOCK']);
  });

  it('given the crossings taken in the other order, then the line still ends blocked and REDUCTION changes nothing more', () => {
    const record = november(21);
    const block = decided(crossing(record, 'BLOCK'), record, null);
    const reduction = decided(crossing(record, 'REDUCTION'), record, block.enforcement);
    expect(block.enforcement?.state).toBe('blocked');
    expect(reduction.enforcement).toBeNull();
    expect(reduction.warning?.threshold).toBe('REDUCTION');
  });

  it('given a BLOCK crossing lifted since by an upgrade (the record is normal now), when it is taken late, then nothing is enforced', () => {
    const record = november(6);
    expect(decided(crossing(record, 'BLOCK'), record, null).enforcement).toBeNull();
  });
});

describe('decideAlert — idempotence and staleness', () => {
  it('given an event already acted on, when it is delivered again, then nothing changes, and the warning is returned again (its delivery is idempotent)', () => {
    const record = november(21);
    const first = decided(crossing(record, 'BLOCK'), record, null);
    const again = decided(crossing(record, 'BLOCK'), record, { ...first.enforcement!, state: 'normal' });
    expect(again.enforcement).toBeNull();
    expect(again.events).toEqual([]);
    expect(again.warning?.id).toBe(first.warning?.id);
  });

  it('keeps a bounded list of the events acted on', () => {
    const record = november(21);
    const many = Array.from({ length: ACTED_ON_KEPT }, (_, i) => `e-${i}`);
    expect(decided(crossing(record, 'BLOCK'), record, enforced('normal', '2026-11', many)).enforcement?.actedOn).toEqual([...many.slice(1), 'threshold:L1:2026-11:BLOCK:1']);
  });

  it.each([
    ['an event of a closed month', november(21), { ...aMonth(aLine(), '2026-12') }],
    ['a line without a record', november(21), null],
  ])('given %s, then it is stale: nobody is warned, nothing enforced', (_case, eventRecord, current) => {
    expect(decideAlert(crossing(eventRecord, 'BLOCK'), { record: current, enforcement: null }, NOW)).toEqual({ outcome: 'stale' });
  });
});

describe('decideAlert — loosening', () => {
  it('given a blocked line upgraded (the record is normal again), when the plan change’s envelope arrives, then the block is lifted for PLAN_CHANGE', () => {
    const record = november(6);
    const result = decided(recomputed(record, 'plan-change', 'envelope:L1:2026-11:plan-change:req-9'), record, enforced('blocked'));
    expect(result.events.map((e) => e.data)).toEqual([{ lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', from: 'blocked', to: 'normal', reason: 'PLAN_CHANGE' }]);
    expect(result.warning).toBeNull();
  });

  it('given a downgrade (the record is blocked), when its envelope arrives, then it tightens nothing: its crossings do', () => {
    const line = aLine({ planHistory: [{ resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }] });
    const record = evaluateThresholds({ ...openMonth({ lineId: 'L1', clientAccountId: 'ACME', planHistory: line.planHistory, products }, '2026-11'), usage: { frBytes: 6 * GiB, euBytes: 0, spendCents: 0 } }).record;
    expect(record.dataState).toBe('blocked');
    expect(decided(recomputed(record, 'plan-change'), record, null).enforcement).toBeNull();
  });

  it.each(['month-start', 'activation'] as const)('given a line blocked in November, when December starts (%s), then the block is lifted for MONTH_START', (cause) => {
    const december = aMonth(aLine(), '2026-12');
    const result = decided(recomputed(december, cause), december, enforced('blocked', '2026-11'));
    expect(result.enforcement).toMatchObject({ month: '2026-12', state: 'normal', reason: 'MONTH_START' });
    expect(result.events[0]?.data).toMatchObject({ month: '2026-12', from: 'blocked', to: 'normal', reason: 'MONTH_START' });
  });

  it('given a November block still enforced, when a December crossing comes before the month-start event, then the new month starts from normal', () => {
    const december = evaluateThresholds({ ...aMonth(aLine(), '2026-12'), usage: { frBytes: 17 * GiB, euBytes: 0, spendCents: 0 } }).record;
    const result = decided(crossing(december, 'REDUCTION'), december, enforced('blocked', '2026-11'));
    expect(result.events[0]?.data).toMatchObject({ from: 'blocked', to: 'reduced', reason: 'MONTH_START' });
  });
});

describe('warning texts (SMS)', () => {
  const upgraded = () => {
    const line = aLine({ planHistory: [{ resourceId: 'R-5', productRef: FIVE.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }, { resourceId: 'R-20', productRef: 'FPC367679', effectiveAt: '2026-11-15T09:00:00.000Z' }] });
    return openMonth({ lineId: 'L1', clientAccountId: 'ACME', planHistory: line.planHistory, products }, '2026-11');
  };

  it.each([
    ['ENVELOPE_80', 11 * GiB, 'OpenSIM : vous avez utilisé 80 % de votre enveloppe data de novembre 2026 (11,0 Gio sur 13,0 Gio).'],
    ['ENVELOPE_100', prorate(5 * GiB, 14, 30)! + prorate(20 * GiB, 16, 30)!, "OpenSIM : votre enveloppe data de novembre 2026 (13,0 Gio) est épuisée. Au-delà, la data est facturée hors forfait jusqu'au seuil de blocage (20,0 Gio)."],
    ['REDUCTION', 16 * GiB, "OpenSIM : seuil de réduction atteint (16,0 Gio) : votre débit data est réduit jusqu'à la fin de novembre 2026."],
    ['BLOCK', 20 * GiB, "OpenSIM : seuil de blocage atteint (20,0 Gio) : la data est bloquée jusqu'à la fin de novembre 2026."],
    ['COST_CAP', 5000, "OpenSIM : plafond de dépenses atteint (50,00 €) : la data est bloquée jusqu'à la fin de novembre 2026."],
  ] as const)('given %s crossed after the 5 → 20 GiB upgrade, then the SMS reads as the portal would say it', (threshold, limit, text) => {
    const record = upgraded();
    const result = decided({ id: 'x', type: 'opensim.threshold.crossed', data: { lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', threshold, limit, value: limit } }, record, null);
    expect(result.warning?.text).toBe(text);
  });

  it('given the envelope is the block threshold (no out-of-bundle window), then the 100 % SMS does not mention one', () => {
    const record = november(20);
    const result = decided({ id: 'y', type: 'opensim.threshold.crossed', data: { lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', threshold: 'ENVELOPE_100', limit: 20 * GiB, value: 20 * GiB } }, record, null);
    expect(result.warning?.text).toBe('OpenSIM : votre enveloppe data de novembre 2026 (20,0 Gio) est épuisée.');
  });
});
