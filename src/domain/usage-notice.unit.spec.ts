import { describe, expect, it } from 'vitest';
import { coalesceUsageUpdated, dueUsageUpdated, type UsageNotice } from './usage-notice.js';
import { GiB, aLine, aMonth } from './spec-support.js';

const INTERVAL = 5000;
const november = { ...aMonth(aLine(), '2026-11'), usage: { frBytes: 3 * GiB, euBytes: 0, spendCents: 0 } };
const at = (seconds: number) => new Date(Date.parse('2026-11-20T11:00:00.000Z') + seconds * 1000).toISOString();
const sent = (seconds: number, lastUsageId = 'u-0'): UsageNotice => ({ month: '2026-11', lastUsageId, lastSentAt: at(seconds), dueAt: null });

describe('coalesceUsageUpdated', () => {
  it('given no update sent yet, when a batch is counted, then its update goes out at once', () => {
    const result = coalesceUsageUpdated({ notice: null, current: { record: november, lastUsageId: 'u-1' }, closed: [], now: at(0), intervalMs: INTERVAL });
    expect(result.events.map((e) => [e.key, e.data.usage.usedBytes])).toEqual([['usage:L1:u-1', 3 * GiB]]);
    expect(result.notice).toEqual({ month: '2026-11', lastUsageId: 'u-1', lastSentAt: at(0), dueAt: null });
  });

  it('given an update sent 2 s ago, when another batch is counted, then it is held back until the interval has passed, named after its last usage', () => {
    const first = coalesceUsageUpdated({ notice: sent(0), current: { record: november, lastUsageId: 'u-2' }, closed: [], now: at(2), intervalMs: INTERVAL });
    expect(first).toEqual({ events: [], notice: { month: '2026-11', lastUsageId: 'u-2', lastSentAt: at(0), dueAt: at(5) } });
    const second = coalesceUsageUpdated({ notice: first.notice, current: { record: november, lastUsageId: 'u-3' }, closed: [], now: at(4), intervalMs: INTERVAL });
    expect(second.notice).toEqual({ month: '2026-11', lastUsageId: 'u-3', lastSentAt: at(0), dueAt: at(5) });
  });

  it('given the interval has passed, when a batch is counted, then its update goes out', () => {
    const result = coalesceUsageUpdated({ notice: { ...sent(0), dueAt: at(5), lastUsageId: 'u-2' }, current: { record: november, lastUsageId: 'u-3' }, closed: [], now: at(5), intervalMs: INTERVAL });
    expect(result.events.map((e) => e.key)).toEqual(['usage:L1:u-3']);
    expect(result.notice?.dueAt).toBeNull();
  });

  it('given a batch that closed November and opened December, then November’s last update goes out at once, then December’s by the interval', () => {
    const december = aMonth(aLine(), '2026-12');
    const result = coalesceUsageUpdated({ notice: sent(0), current: { record: december, lastUsageId: 'd-1' }, closed: [{ record: november, lastUsageId: 'n-9' }], now: at(1), intervalMs: INTERVAL });
    expect(result.events.map((e) => [e.key, e.data.month])).toEqual([['usage:L1:n-9', '2026-11']]);
    expect(result.notice).toEqual({ month: '2026-12', lastUsageId: 'd-1', lastSentAt: at(1), dueAt: at(6) });
  });

  it('given a November update held back and November closed by an earlier change, when December usage is counted, then the held-back one goes out from the archived record', () => {
    const pending = { ...sent(0, 'n-5'), dueAt: at(5) };
    const december = aMonth(aLine(), '2026-12');
    const result = coalesceUsageUpdated({ notice: pending, current: { record: december, lastUsageId: 'd-1' }, closed: [], pendingRecord: november, now: at(2), intervalMs: INTERVAL });
    expect(result.events.map((e) => [e.key, e.data.usage.usedBytes])).toEqual([['usage:L1:n-5', 3 * GiB]]);
    expect(result.notice).toMatchObject({ month: '2026-12', lastUsageId: 'd-1', dueAt: at(7) });
  });

  it('given a batch that counted nothing new, then the notice is left as it is', () => {
    const notice = { ...sent(0), dueAt: at(5) };
    expect(coalesceUsageUpdated({ notice, current: { record: november, lastUsageId: null }, closed: [], now: at(1), intervalMs: INTERVAL })).toEqual({ notice, events: [] });
  });

  it('given a held-back update of a closed month and no new usage of the current one, then the held-back one goes out and nothing is left pending', () => {
    const notice = { ...sent(0, 'n-5'), dueAt: at(5) };
    const result = coalesceUsageUpdated({ notice, current: { record: aMonth(aLine(), '2026-12'), lastUsageId: null }, closed: [], pendingRecord: november, now: at(1), intervalMs: INTERVAL });
    expect(result.events.map((e) => e.key)).toEqual(['usage:L1:n-5']);
    expect(result.notice).toEqual({ month: '2026-12', lastUsageId: 'n-5', lastSentAt: at(1), dueAt: null });
  });
});

describe('dueUsageUpdated', () => {
  const pending = { ...sent(0, 'u-7'), dueAt: at(5) };

  it('given a held-back update, when it is due, then it is built from the record as it is now', () => {
    const due = dueUsageUpdated(pending, november, at(5));
    expect(due?.event).toMatchObject({ key: 'usage:L1:u-7', data: { month: '2026-11', usage: { usedBytes: 3 * GiB }, remainingBytes: 17 * GiB } });
    expect(due?.notice).toEqual({ ...pending, lastSentAt: at(5), dueAt: null });
  });

  it.each([
    ['not due yet', pending, november, at(4)],
    ['nothing held back', sent(0), november, at(9)],
    ['no notice', null, november, at(9)],
    ['the record of another month', pending, aMonth(aLine(), '2026-12'), at(9)],
  ] as const)('given %s, then nothing goes out', (_case, notice, record, now) => {
    expect(dueUsageUpdated(notice, record, now)).toBeNull();
  });
});
