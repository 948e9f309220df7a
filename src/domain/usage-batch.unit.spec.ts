import { describe, expect, it } from 'vitest';
import { recordUsageBatch } from './usage-batch.js';
import { recordUsage } from './usage.js';
import { GLOBEX, GiB, aLine, aMonth, aUsage, aUsageState } from './spec-support.js';
import type { LineMonth } from './line-month.js';

const NOW = '2026-11-20T12:00:00+01:00';

describe('recordUsageBatch', () => {
  it('given reports one by one or as one batch, then counters, crossings and keys are the same; only the last usage.updated is left to the coalescer', () => {
    const reports = [
      aUsage({ usageId: 'u-1', bytes: 10 * GiB }),
      aUsage({ usageId: 'u-2', bytes: 7 * GiB, zone: 'EU', costCents: 120 }),
      aUsage({ usageId: 'u-3', bytes: 4 * GiB }),
    ];
    let month: LineMonth | null = aUsageState().month;
    const oneByOne: string[] = [];
    for (const report of reports) {
      const single = recordUsage(report, aUsageState({ month }), NOW);
      if (single.outcome !== 'recorded') throw new Error('expected recorded');
      month = single.month;
      oneByOne.push(...single.events.filter((e) => e.type !== 'opensim.usage.updated').map((e) => e.key));
    }
    const batch = recordUsageBatch(reports, aUsageState(), NOW);
    expect(batch.month).toEqual(month);
    expect(batch.events.map((e) => e.key)).toEqual(oneByOne);
    expect(oneByOne).toEqual(['threshold:L1:2026-11:ENVELOPE_80:1', 'threshold:L1:2026-11:REDUCTION:1', 'threshold:L1:2026-11:ENVELOPE_100:1', 'threshold:L1:2026-11:BLOCK:1']);
    expect(batch).toMatchObject({ recorded: ['u-1', 'u-2', 'u-3'], lastUsageId: 'u-3', closed: [], rejected: [], duplicates: [] });
  });

  it('given a usage id already counted, or twice in the batch, then it is counted once', () => {
    const batch = recordUsageBatch([aUsage({ usageId: 'old' }), aUsage({ usageId: 'u-1' }), aUsage({ usageId: 'u-1' })], aUsageState({ recordedUsageIds: ['old'] }), NOW);
    expect(batch.month?.usage.frBytes).toBe(GiB);
    expect(batch).toMatchObject({ recorded: ['u-1'], duplicates: ['old', 'u-1'] });
  });

  it('given reports of an unknown line or of another account, then each is rejected with its reason and nothing is counted', () => {
    expect(recordUsageBatch([aUsage()], aUsageState({ line: null }), NOW)).toMatchObject({ month: aUsageState().month, rejected: [{ usageId: 'u-1', reason: 'UNKNOWN_LINE' }], recorded: [] });
    const other = recordUsageBatch([aUsage()], aUsageState({ line: aLine({ serviceRef: GLOBEX.serviceRef }), service: GLOBEX }), NOW);
    expect(other.rejected.map((r) => r.reason)).toEqual(['TENANT_MISMATCH']);
    expect(other.lastUsageId).toBeNull();
  });

  it('given November and December reports in any order while November is open, then November is counted first and closed when December opens', () => {
    const december = aUsage({ usageId: 'd-1', occurredAt: '2026-12-01T00:00:05+01:00', bytes: 2 * GiB });
    const november = [aUsage({ usageId: 'n-1', bytes: GiB }), aUsage({ usageId: 'n-2', bytes: GiB })];
    const batch = recordUsageBatch([november[0]!, december, november[1]!], aUsageState(), '2026-12-01T00:00:06+01:00');
    expect(batch.closed.map((c) => [c.record.month, c.record.usage.frBytes, c.lastUsageId])).toEqual([['2026-11', 2 * GiB, 'n-2']]);
    expect(batch.month).toMatchObject({ month: '2026-12', usage: { frBytes: 2 * GiB } });
    expect(batch.lastUsageId).toBe('d-1');
    expect(batch.events.map((e) => e.key)).toEqual(['envelope:L1:2026-12:month-start']);
  });

  it('given no record yet, when the first report arrives, then the month is opened with its events', () => {
    const batch = recordUsageBatch([aUsage()], aUsageState({ month: null }), NOW);
    expect(batch.month?.month).toBe('2026-11');
    expect(batch.closed).toEqual([]);
    expect(batch.events.map((e) => e.type)).toEqual(['opensim.envelope.recomputed']);
  });

  it('given an archived October record, when late October reports are batched, then October grows and nothing is crossed', () => {
    const october = aMonth(aLine(), '2026-10', { frBytes: 19 * GiB });
    const batch = recordUsageBatch([aUsage({ occurredAt: '2026-10-30T10:00:00+01:00', bytes: 3 * GiB })], aUsageState({ month: october }), NOW);
    expect(batch.month).toMatchObject({ month: '2026-10', usage: { frBytes: 22 * GiB }, crossed: [] });
    expect(batch.events).toEqual([]);
  });
});
