import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { collections, type Collections } from '../../src/store/documents.js';
import { expireRecords, expiryCutoff } from '../../src/retention/record-expiry.js';
import { mongoUrlWithDatabase, uniqueName } from '../support/services.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

describe('expireRecords: what makes a late resend harmless is kept for the horizon, then goes', () => {
  let mongo: MongoClient;
  let c: Collections;

  beforeEach(async () => {
    mongo = await new MongoClient(mongoUrlWithDatabase(uniqueName('expiry'))).connect();
    c = collections(mongo.db());
  });

  afterEach(async () => {
    await mongo.db().dropDatabase();
    await mongo.close();
  });

  it('deletes, page by page, only the records written before the cutoff; a request with events to publish, or scheduled, stays', async () => {
    const request = (id: string, decidedAt: string, extra: Record<string, unknown> = {}) => ({ _id: id, kind: 'plan-change' as const, clientAccountId: 'A', lineId: 'L', outcome: 'applied' as const, reason: null, eventId: `e-${id}`, decidedAt, outbox: [], ...extra });
    await c.requests.insertMany([
      request('old-1', daysAgo(401)),
      request('old-2', daysAgo(500)),
      request('old-3', daysAgo(450)),
      request('recent', daysAgo(399)),
      request('old-unpublished', daysAgo(500), { outbox: [{ id: 'x', subject: 's', event: {} }] }),
      request('old-scheduled', daysAgo(500), { outcome: 'scheduled' }),
    ] as never);
    await c.usage.insertMany([
      { _id: 'u-old', seq: 1, attempt: 'a-old', lineId: 'L', month: '2025-09', claimedAt: daysAgo(420) },
      { _id: 'u-new', seq: 2, attempt: 'a-new', lineId: 'L', month: '2026-11', claimedAt: daysAgo(1) },
    ]);
    await c.usageAttempts.insertMany([
      { _id: 'a-old', settledAt: daysAgo(420), counted: 1 },
      { _id: 'a-new', settledAt: daysAgo(1), counted: 1 },
    ]);
    await c.notifications.insertMany([
      { _id: 'n-old', channel: 'sms', lineId: 'L', clientAccountId: 'A', to: null, month: '2025-09', threshold: 'BLOCK', text: 't', at: daysAgo(410) },
      { _id: 'n-new', channel: 'sms', lineId: 'L', clientAccountId: 'A', to: null, month: '2026-11', threshold: 'BLOCK', text: 't', at: daysAgo(3) },
    ]);

    const pauses: number[] = [];
    const deleted = await expireRecords(c, expiryCutoff(NOW, 400), { page: 2, pause: async (ms) => void pauses.push(ms), stopped: () => false });

    expect(deleted).toEqual({ requests: 3, usage: 1, usageAttempts: 1, notifications: 1 });
    expect((await c.requests.find({}).toArray()).map((r) => r._id).sort()).toEqual(['old-scheduled', 'old-unpublished', 'recent']);
    expect(await c.usage.find({}).toArray()).toMatchObject([{ _id: 'u-new' }]);
    expect(await c.usageAttempts.find({}).toArray()).toMatchObject([{ _id: 'a-new' }]);
    expect(await c.notifications.find({}).toArray()).toMatchObject([{ _id: 'n-new' }]);
    // Three expired requests in pages of two: one pause between the full page and the next.
    expect(pauses).toHaveLength(1);
    // A second pass finds nothing.
    expect(await expireRecords(c, expiryCutoff(NOW, 400), { page: 2, pause: async () => {}, stopped: () => false })).toEqual({ requests: 0, usage: 0, usageAttempts: 0, notifications: 0 });
  });

  it('a pass stops between pages when the process stops', async () => {
    await c.usage.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: `u-${i}`, seq: i, attempt: 'a', lineId: 'L', month: '2025-01', claimedAt: daysAgo(500) })));
    let stopped = false;
    const deleted = await expireRecords(c, expiryCutoff(NOW, 400), { page: 2, pause: async () => void (stopped = true), stopped: () => stopped });
    expect(deleted.usage).toBe(2);
    expect(await c.usage.countDocuments({})).toBe(3);
  });
});
