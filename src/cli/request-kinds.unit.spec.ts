import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../contract/messages.js';
import type { CliIo } from './io.js';
import { UsageError } from './io.js';
import { parseTimeout, run } from './request.js';
import { planChange, planChangeCancel, type OutgoingQuery, type OutgoingRequest } from './request-kinds.js';
import { planChangePreview } from './request-preview.js';

const NOW = new Date('2026-11-15T09:00:00.000Z');
const LINE = { account: 'CA-100237', service: 'SRV-OPENSIM-000142', line: 'LINE-000318', target: 'RES-000454' };

const event = (type: string, data: Record<string, unknown>): CloudEvent => ({ specversion: '1.0', id: `${type}:x`, source: 'test', type, time: NOW.toISOString(), datacontenttype: 'application/json', data }) as CloudEvent;
const publish = (built: OutgoingRequest | OutgoingQuery) => {
  if (built.mode !== 'publish') throw new Error('expected a publish');
  return built;
};
const query = (built: OutgoingRequest | OutgoingQuery) => {
  if (built.mode !== 'query') throw new Error('expected a query');
  return built;
};

/** `opensim request …` with buffers; nothing here reaches a server (every case fails before connecting). */
async function request(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: { NATS_URL: 'nats://127.0.0.1:1' }, confirm: async () => undefined };
  return { code: await run(args, io), out: out.join(''), err: err.join('') };
}

describe('opensim request plan-change --at', () => {
  it('given --at, then the body carries effectiveAt and the first outcome awaited may be scheduled', () => {
    const built = publish(planChange.build({ ...LINE, at: '2026-12-01T00:00:00+01:00', 'request-id': 'r1' }, NOW));
    expect(built.body).toEqual({ requestId: 'r1', clientAccountId: 'CA-100237', serviceRef: 'SRV-OPENSIM-000142', lineId: 'LINE-000318', targetResourceId: 'RES-000454', requestedAt: NOW.toISOString(), effectiveAt: '2026-12-01T00:00:00+01:00' });
    expect(built).toMatchObject({ subject: 'cmd.plan-change.CA-100237', outcomeSubject: 'evt.plan-change.CA-100237', msgId: 'r1' });
    const scheduled = event('opensim.plan-change.scheduled', { requestId: 'r1', lineId: 'LINE-000318', to: { resourceId: 'RES-000454', productRef: 'FPC367678' }, effectiveAt: '2026-11-30T23:00:00.000Z' });
    expect(built.isOutcome(scheduled)).toBe(true);
    expect(built.isInterim?.(scheduled)).toBe(false);
    expect(built.defaultTimeoutMs).toBeUndefined();
    expect(built.describe(scheduled)).toBe('scheduled plan-change r1 on LINE-000318: -> FPC367678 (RES-000454) at 2026-11-30T23:00:00.000Z');
    // The cancel's own events name the request too: they are not the request's outcome.
    expect(built.isOutcome(event('opensim.plan-change-cancel.applied', { requestId: 'r1', cancelId: 'c1', lineId: 'LINE-000318' }))).toBe(false);
  });

  it('given no --at, then no effectiveAt at all (an immediate change, as before)', () => {
    expect(publish(planChange.build(LINE, NOW)).body).not.toHaveProperty('effectiveAt');
  });

  it('given --wait-final, then scheduled is noted and waited past, the final outcome ends the wait, and the default timeout runs until 30 s after --at', () => {
    const built = publish(planChange.build({ ...LINE, at: '2026-11-15T11:00:00+01:00', 'wait-final': true, 'request-id': 'r2' }, NOW));
    const scheduled = event('opensim.plan-change.scheduled', { requestId: 'r2' });
    expect(built.isOutcome(scheduled)).toBe(false);
    expect(built.isInterim?.(scheduled)).toBe(true);
    for (const final of ['applied', 'rejected', 'cancelled', 'failed']) expect(built.isOutcome(event(`opensim.plan-change.${final}`, { requestId: 'r2' }))).toBe(true);
    expect(built.isOutcome(event('opensim.plan-change.applied', { requestId: 'another' }))).toBe(false);
    expect(built.defaultTimeoutMs).toBe(3600_000 + 30_000);
    expect(parseTimeout(undefined, built.defaultTimeoutMs)).toBe(3630_000);
    expect(parseTimeout('90s', built.defaultTimeoutMs)).toBe(90_000);
  });

  it('given an --at without an offset, then a usage error naming --at (exit 2, nothing sent)', async () => {
    expect(() => planChange.build({ ...LINE, at: '2026-12-01T00:00:00' }, NOW)).toThrow(new UsageError('--at: must be an RFC 3339 timestamp with an offset'));
    const { code, err } = await request('plan-change', '--account', 'A', '--service', 'S', '--line', 'L', '--target', 'R', '--at', 'tomorrow');
    expect(code).toBe(2);
    expect(err).toMatch(/^opensim request: --at: must be an RFC 3339 timestamp with an offset\n\nusage: opensim request plan-change/);
  });
});

describe('opensim request cancel', () => {
  it('given an account and a request id, then the cancel body on the cancel subject, Nats-Msg-Id = cancelId, awaiting plan-change-cancel.* of that cancelId only', () => {
    const built = publish(planChangeCancel.build({ account: 'CA-100237', 'request-id': 'r1', 'cancel-id': 'c1' }, NOW));
    expect(built.body).toEqual({ cancelId: 'c1', clientAccountId: 'CA-100237', requestId: 'r1', requestedAt: NOW.toISOString() });
    expect(built).toMatchObject({ subject: 'cmd.plan-change-cancel.CA-100237', outcomeSubject: 'evt.plan-change.CA-100237', msgId: 'c1', label: 'cancel c1' });
    const applied = event('opensim.plan-change-cancel.applied', { cancelId: 'c1', clientAccountId: 'CA-100237', requestId: 'r1', lineId: 'LINE-000318' });
    const rejected = event('opensim.plan-change-cancel.rejected', { cancelId: 'c1', clientAccountId: 'CA-100237', requestId: 'r1', reason: 'NOT_SCHEDULED', message: "request 'r1' is not scheduled" });
    expect(built.isOutcome(applied)).toBe(true);
    expect(built.isOutcome(rejected)).toBe(true);
    expect(built.isOutcome(event('opensim.plan-change-cancel.applied', { cancelId: 'c2', requestId: 'r1' }))).toBe(false);
    expect(built.isOutcome(event('opensim.plan-change.cancelled', { cancelId: 'c1', requestId: 'r1' }))).toBe(false);
    expect(built.describe(applied)).toBe('applied   cancel c1 of plan-change r1: the change scheduled on LINE-000318 is cancelled, its target released');
    expect(built.describe(rejected)).toBe("rejected  cancel c1 of plan-change r1: NOT_SCHEDULED (request 'r1' is not scheduled)");
  });

  it('given no cancel id, then one is generated (cli-…); given no request id, then a usage error (exit 2)', async () => {
    expect(publish(planChangeCancel.build({ account: 'A', 'request-id': 'r1' }, NOW)).msgId).toMatch(/^cli-[a-z0-9]+-[0-9a-f]{6}$/);
    const { code, err } = await request('cancel', '--account', 'CA-100237');
    expect(code).toBe(2);
    expect(err).toMatch(/^opensim request: --request-id is required\n\nusage: opensim request cancel \[flags\]/);
    expect((await request('cancel', '--account', 'A', '--request-id', 'r', '--line', 'L')).code).toBe(2); // --line is not a cancel flag
  });
});

describe('opensim request preview', () => {
  it('given the change, then a preview query body (no requestId; effectiveAt with --at) on the preview subject', () => {
    const built = query(planChangePreview.build({ ...LINE, at: '2026-12-01T00:00:00+01:00' }, NOW));
    expect(built.subject).toBe('qry.plan-change-preview.CA-100237');
    expect(built.body).toEqual({ clientAccountId: 'CA-100237', serviceRef: 'SRV-OPENSIM-000142', lineId: 'LINE-000318', targetResourceId: 'RES-000454', effectiveAt: '2026-12-01T00:00:00+01:00' });
  });

  it('given a downgrade that blocks at once, then the figures after it and the thresholds crossed, exit 0 (it would be applied)', () => {
    const built = query(planChangePreview.build(LINE, NOW));
    const GiB = 2 ** 30;
    const reply = {
      outcome: 'applied', reason: null, message: null, effectiveAt: '2026-11-15T09:00:00.000Z',
      envelope: { month: '2026-11', days: 30, totalBytes: 12_884_901_887, segments: [] },
      thresholds: { reductionBytes: 4 * GiB, blockBytes: 5 * GiB, costCapCents: 3000 },
      usage: { frBytes: 6 * GiB, euBytes: 0, usedBytes: 6 * GiB, spendCents: 450 },
      overageExposureBytes: 0, dataStateAfter: 'blocked', crossedAtOnce: ['REDUCTION', 'BLOCK'],
    };
    expect(built.succeeded(reply)).toBe(true);
    expect(built.describe(reply)).toBe(
      [
        'applied   preview of LINE-000318 -> RES-000454 at 2026-11-15T09:00:00.000Z',
        '  envelope    2026-11: 12.0 GiB',
        '  thresholds  reduction 4.0 GiB, block 5.0 GiB, cost cap 30.00 EUR',
        '  usage       6.0 GiB used so far (France 6.0 GiB, Europe 0.0 GiB), spend 4.50 EUR',
        '  exposure    0.0 GiB between the envelope and the block threshold',
        '  data state  blocked after the change',
        '  at once     crosses REDUCTION, BLOCK',
      ].join('\n'),
    );
  });

  it('given a rejection or a refused query, then one line with the reason, exit 1', () => {
    const built = query(planChangePreview.build(LINE, NOW));
    const rejected = { outcome: 'rejected', reason: 'UNKNOWN_LINE', message: "line 'LINE-000318' does not exist", crossedAtOnce: [] };
    expect(built.succeeded(rejected)).toBe(false);
    expect(built.describe(rejected)).toBe("rejected  preview of LINE-000318 -> RES-000454: UNKNOWN_LINE (line 'LINE-000318' does not exist)");
    const refused = { error: { code: 'INVALID_PAYLOAD', message: 'bad' } };
    expect(built.succeeded(refused)).toBe(false);
    expect(built.describe(refused)).toBe('error     preview of LINE-000318 -> RES-000454: INVALID_PAYLOAD (bad)');
  });

  it('given --wait-final (a publish flag), then a usage error: the preview sends nothing to wait for', async () => {
    expect((await request('preview', '--account', 'A', '--service', 'S', '--line', 'L', '--target', 'R', '--wait-final')).code).toBe(2);
  });
});

describe('opensim request --help', () => {
  it('lists the four kinds, and each kind its own flags', async () => {
    expect((await request('--help')).out).toMatch(/^usage: opensim request <plan-change\|resource-order\|cancel\|preview> \[flags\]/);
    expect((await request('plan-change', '--help')).out).toContain('--wait-final');
    expect((await request('cancel', '--help')).out).toContain('--cancel-id <id>    cancelId and Nats-Msg-Id');
    expect((await request('preview', '--help')).out).toContain('--at <t>            when it would take effect');
  });
});
