import { describe, expect, it } from 'vitest';
import { recordUsage, type RecordUsageResult } from './usage.js';
import { GLOBEX, GiB, METERED, aLine, aMonth, aUsage, aUsageState, eventsOfType } from './spec-support.js';
import type { LineMonth } from './line-month.js';

const NOW = '2026-11-20T12:00:00+01:00';

function recorded(result: RecordUsageResult) {
  if (result.outcome !== 'recorded') throw new Error(`expected recorded, got ${JSON.stringify(result)}`);
  return result;
}

describe('recordUsage — guards', () => {
  it('given a usage id already recorded, when it arrives again, then nothing changes', () => {
    expect(recordUsage(aUsage(), aUsageState({ recordedUsageIds: ['u-1'] }), NOW)).toEqual({ outcome: 'duplicate' });
  });

  it('given no such line, when usage arrives, then UNKNOWN_LINE', () => {
    expect(recordUsage(aUsage({ lineId: 'L404' }), aUsageState({ line: null }), NOW)).toEqual({ outcome: 'rejected', reason: 'UNKNOWN_LINE', message: "line 'L404' does not exist" });
  });

  it('given a line of another account, when usage arrives, then TENANT_MISMATCH', () => {
    const result = recordUsage(aUsage(), aUsageState({ line: aLine({ serviceRef: GLOBEX.serviceRef }), service: GLOBEX }), NOW);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'TENANT_MISMATCH' });
  });

  it.each([
    ['the line’s service is not loaded', { service: null }, "service 'SRV-ACME' of line 'L1' is not loaded"],
    ['the month record is after the usage month', { month: aMonth(aLine(), '2026-12') }, 'month record 2026-12'],
  ] as const)('given %s, when usage arrives, then it throws (a bug, not a rule)', (_, overrides, message) => {
    expect(() => recordUsage(aUsage(), aUsageState(overrides), NOW)).toThrow(message);
  });
});

describe('recordUsage — counters and thresholds', () => {
  it('given a fresh month, when 1 GiB is used in France and 2 GiB in Europe with a cost, then the counters add up and usage.updated says what is left', () => {
    const first = recorded(recordUsage(aUsage({ bytes: GiB }), aUsageState(), NOW));
    const second = recorded(recordUsage(aUsage({ usageId: 'u-2', zone: 'EU', bytes: 2 * GiB, costCents: 150 }), aUsageState({ month: first.month }), NOW));
    expect(second.month.usage).toEqual({ frBytes: GiB, euBytes: 2 * GiB, spendCents: 150 });
    expect(second.events).toEqual([
      {
        key: 'usage:L1:u-2',
        type: 'opensim.usage.updated',
        subjectKind: 'mon',
        data: {
          lineId: 'L1',
          clientAccountId: 'ACME',
          month: '2026-11',
          usage: { frBytes: GiB, euBytes: 2 * GiB, usedBytes: 3 * GiB, spendCents: 150 },
          envelopeBytes: 20 * GiB,
          remainingBytes: 17 * GiB,
          dataState: 'normal',
        },
      },
    ]);
  });

  it('given usage climbing through every threshold, when reported, then each is crossed once, in order, and the decided data state follows (announced by the alert consumer, not here)', () => {
    let month: LineMonth = aMonth(aLine(), '2026-11');
    const steps = [
      { bytes: 16 * GiB, expected: ['ENVELOPE_80:1', 'REDUCTION:1'], state: 'reduced' },
      { bytes: GiB, expected: [], state: 'reduced' },
      { bytes: 3 * GiB, expected: ['ENVELOPE_100:1', 'BLOCK:1'], state: 'blocked' },
      { bytes: GiB, costCents: 6000, expected: ['COST_CAP:1'], state: 'blocked' },
      { bytes: GiB, costCents: 10, expected: [], state: 'blocked' },
    ];
    steps.forEach((step, i) => {
      const result = recorded(recordUsage(aUsage({ usageId: `u-${i}`, bytes: step.bytes, costCents: step.costCents }), aUsageState({ month }), NOW));
      month = result.month;
      expect(eventsOfType(result.events, 'opensim.threshold.crossed').map((e) => e.key.split(':').slice(3).join(':'))).toEqual(step.expected);
      expect(month.dataState).toBe(step.state);
      expect(eventsOfType(result.events, 'opensim.line.data-state.changed')).toEqual([]);
    });
  });

  it('given ENVELOPE_80 of a 20 GiB envelope, when usage reaches exactly 80 %, then it is crossed with the limit rounded up', () => {
    const result = recorded(recordUsage(aUsage({ bytes: 16 * GiB }), aUsageState(), NOW));
    expect(eventsOfType(result.events, 'opensim.threshold.crossed')[0]?.data).toEqual({ lineId: 'L1', clientAccountId: 'ACME', month: '2026-11', threshold: 'ENVELOPE_80', limit: 16 * GiB, value: 16 * GiB });
  });

  it('given a line under its reduction threshold, when the cost cap is reached first, then it is blocked for COST_CAP', () => {
    const result = recorded(recordUsage(aUsage({ bytes: 1, costCents: 5000 }), aUsageState(), NOW));
    expect(result.month).toMatchObject({ crossed: ['COST_CAP'], dataState: 'blocked' });
  });

  it('given a metered line, when usage arrives, then only the bytes thresholds and cost cap apply; envelope and remaining are null', () => {
    const line = aLine({ planHistory: [{ resourceId: 'R-m', productRef: METERED.productRef, effectiveAt: '2026-09-30T22:00:00.000Z' }] });
    const result = recorded(recordUsage(aUsage({ bytes: 9 * GiB }), aUsageState({ line, month: aMonth(line, '2026-11') }), NOW));
    expect(eventsOfType(result.events, 'opensim.usage.updated')[0]?.data).toMatchObject({ envelopeBytes: null, remainingBytes: null, dataState: 'reduced' });
    expect(eventsOfType(result.events, 'opensim.threshold.crossed').map((e) => e.data.threshold)).toEqual(['REDUCTION']);
  });

  it('given usage beyond the envelope, when reported, then remaining is zero, never negative', () => {
    const result = recorded(recordUsage(aUsage({ bytes: 25 * GiB }), aUsageState(), NOW));
    expect(eventsOfType(result.events, 'opensim.usage.updated')[0]?.data.remainingBytes).toBe(0);
  });
});

describe('recordUsage — months', () => {
  it('given October is closed, when late October usage arrives, then October’s counters grow but no threshold is acted on', () => {
    const october = aMonth(aLine(), '2026-10', { frBytes: 19 * GiB });
    const result = recorded(recordUsage(aUsage({ occurredAt: '2026-10-31T23:30:00+01:00', bytes: 5 * GiB }), aUsageState({ month: october }), NOW));
    expect(result.month.month).toBe('2026-10');
    expect(result.month.usage.frBytes).toBe(24 * GiB);
    expect(result.month.crossed).toEqual([]);
    expect(result.events.map((e) => e.type)).toEqual(['opensim.usage.updated']);
  });

  it('given no record for a closed month, when late usage arrives, then that month is opened quietly', () => {
    const result = recorded(recordUsage(aUsage({ occurredAt: '2026-10-15T12:00:00+02:00' }), aUsageState({ month: null }), NOW));
    expect(result.month.month).toBe('2026-10');
    expect(result.events.map((e) => e.type)).toEqual(['opensim.usage.updated']);
  });

  it('given the latest record is October, when November usage arrives before the rollover, then November is opened with its month-start events', () => {
    const october = { ...aMonth(aLine(), '2026-10'), crossed: ['REDUCTION' as const], dataState: 'reduced' as const };
    const result = recorded(recordUsage(aUsage(), aUsageState({ month: october }), NOW));
    expect(result.month.month).toBe('2026-11');
    expect(result.month.usage.frBytes).toBe(GiB);
    expect(result.events.map((e) => e.key)).toEqual(['envelope:L1:2026-11:month-start', 'usage:L1:u-1']);
    expect(result.month.dataState).toBe('normal');
  });

  it('given a worker clock still in November, when usage stamped 1 December 00:00:01 Paris arrives, then it is live usage of December', () => {
    const result = recorded(recordUsage(aUsage({ occurredAt: '2026-12-01T00:00:01+01:00', bytes: 17 * GiB }), aUsageState(), '2026-11-30T23:59:59+01:00'));
    expect(result.month.month).toBe('2026-12');
    expect(result.month.crossed).toEqual(['ENVELOPE_80', 'REDUCTION']);
  });
});
