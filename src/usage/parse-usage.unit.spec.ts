import { describe, expect, it } from 'vitest';
import { parseUsage } from './parse-usage.js';

const SUBJECT = 'opensim.usage.ACME';
const body = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const record = { usageId: 'u-1', clientAccountId: 'ACME', lineId: 'L1', zone: 'FR', bytes: 1024, occurredAt: '2026-11-30T23:30:00+01:00' };

describe('parseUsage', () => {
  it('given a valid record, then it is accepted with the Paris month of occurredAt', () => {
    expect(parseUsage(SUBJECT, body(record), 'u-1', 1024)).toEqual({ ok: true, record, month: '2026-11' });
    expect(parseUsage(SUBJECT, body({ ...record, occurredAt: '2026-11-30T23:30:00Z' }), undefined, 1024)).toMatchObject({ ok: true, month: '2026-12' });
  });

  it.each([
    ['too big', body(record), 10, 'over the limit of 10'],
    ['not JSON', body('{"usageId":'), 1024, 'not UTF-8 JSON'],
    ['a negative byte count', body({ ...record, bytes: -1 }), 1024, 'bytes'],
    ['another account than the subject’s', body({ ...record, clientAccountId: 'GLOBEX' }), 1024, "differs from the subject's account 'ACME'"],
    ['an impossible date', body({ ...record, occurredAt: '2026-02-30T10:00:00+01:00' }), 1024, 'occurredAt'],
  ])('given %s, then INVALID_PAYLOAD with the reason, the usage id when there is one, the subject’s account', (_case, bytes, max, problem) => {
    const parsed = parseUsage(SUBJECT, bytes, 'hdr-1', max);
    expect(parsed).toMatchObject({ ok: false, clientAccountId: 'ACME' });
    if (parsed.ok) throw new Error('expected invalid');
    expect(parsed.message).toContain(problem);
    expect(parsed.usageId).toBe(_case === 'not JSON' || _case === 'too big' ? 'hdr-1' : 'u-1');
  });
});
