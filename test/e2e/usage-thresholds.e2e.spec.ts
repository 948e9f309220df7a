import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockStartingAt } from '../../src/runtime/clock.js';
import type { RunningSystem } from '../../src/app/system.js';
import type { CloudEvent } from '../../src/contract/messages.js';
import { countedClaims, GiB, MonitoringFeed, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'MON';
const SVC = `SVC-${ACC}`;
const usedBytes = (e: CloudEvent) => (e.data.usage as { usedBytes: number }).usedBytes;
/** 5 GiB on days 1–14, 20 GiB on days 15–30 of November: the prorated envelope, about 13 GiB. */
const UPGRADED_ENVELOPE = Math.floor((5 * GiB * 14) / 30) + Math.floor((20 * GiB * 16) / 30);

/**
 * Usage, thresholds and the alert consumer, with the catalogue of fixtures/catalog.json:
 * FPC367678 5 GiB (reduction 4 GiB, block 5 GiB, cap 30 €), FPC367679 20 GiB (reduction 16 GiB,
 * block 20 GiB, cap 50 €). The system's clock reads 15 November 2026, 10:00 Paris.
 */
describe('usage monitoring and threshold alerts', () => {
  let client: PipelineClient;
  let system: RunningSystem;
  let feed: MonitoringFeed;

  beforeAll(async () => {
    const env = isolatedEnv({ OPENSIM_USAGE_UPDATED_INTERVAL_MS: '300' });
    client = await PipelineClient.open(env);
    const line = (lineId: string, resourceId: string) => ({ lineId, serviceRef: SVC, state: 'active' as const, msisdn: '+33612345678', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: resourceId });
    await client.seed({
      services: [{ serviceRef: SVC, clientAccountId: ACC }],
      resources: [
        { resourceId: 'UP-R5', serviceRef: SVC, productRef: 'FPC367678', state: 'active' },
        { resourceId: 'UP-R20', serviceRef: SVC, productRef: 'FPC367679', state: 'available' },
        { resourceId: 'DOWN-R20', serviceRef: SVC, productRef: 'FPC367679', state: 'active' },
        { resourceId: 'DOWN-R5', serviceRef: SVC, productRef: 'FPC367678', state: 'available' },
        { resourceId: 'LATE-R20', serviceRef: SVC, productRef: 'FPC367679', state: 'active' },
        { resourceId: 'DUP-R20', serviceRef: SVC, productRef: 'FPC367679', state: 'active' },
      ],
      lines: [line('UP', 'UP-R5'), line('DOWN', 'DOWN-R20'), line('LATE', 'LATE-R20'), line('DUP', 'DUP-R20')],
    });
    feed = await MonitoringFeed.open(client);
    system = await startInProcess(env, { clock: clockStartingAt('2026-11-15T10:00:00+01:00') });
  });
  afterAll(async () => {
    await system?.stop();
    await feed?.close();
    await client?.cleanup();
  });

  const planChange = (requestId: string, lineId: string, targetResourceId: string) =>
    client.planChange({ requestId, clientAccountId: ACC, serviceRef: SVC, lineId, targetResourceId, requestedAt: '2026-11-15T09:59:00+01:00' });
  const use = (lineId: string, usageId: string, bytes: number, extra = {}) => publishUsage(client, [usageRecord(ACC, lineId, usageId, bytes, '2026-11-15T10:05:00+01:00', extra)]);
  const crossing = (lineId: string, threshold: string) => (e: CloudEvent) => e.type === 'opensim.threshold.crossed' && e.subject === lineId && e.data.threshold === threshold;
  const stateChange = (lineId: string, to: string) => (e: CloudEvent) => e.type === 'opensim.line.data-state.changed' && e.subject === lineId && e.data.to === to;
  const notifications = (lineId: string) => client.db.collection('notifications').find({ lineId }).sort({ at: 1 }).toArray();
  const lineDoc = (lineId: string) => client.db.collection('lines').findOne({ _id: lineId as never });

  it('given a line on 5 GiB upgraded to 20 GiB on the 15th, when usage passes 80 % and 100 % of the ~13 GiB envelope, then 20 GiB, then exactly ENVELOPE_80, ENVELOPE_100, REDUCTION, BLOCK are crossed, the user is warned at each, and the line is throttled then blocked, in that order', async () => {
    await planChange('up-1', 'UP', 'UP-R20');
    const [applied] = await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'up-1');
    expect(String(applied!.data.appliedAt)).toMatch(/^2026-11-15T09:00:0/);
    expect(applied!.data).toMatchObject({ envelope: { totalBytes: UPGRADED_ENVELOPE }, thresholds: { reductionBytes: 16 * GiB, blockBytes: 20 * GiB, costCapCents: 5000 } });
    // The overage exposure: between the prorated envelope and the unprorated block threshold.
    expect(applied!.data.overageExposureBytes).toBe(20 * GiB - UPGRADED_ENVELOPE);
    const [recomputed] = await feed.waitFor((e) => e.type === 'opensim.envelope.recomputed' && e.subject === 'UP' && e.data.cause === 'plan-change');
    expect(recomputed!.data).toMatchObject({ overageExposureBytes: 7516192769, dataState: 'normal' });

    await use('UP', 'up-u1', 11 * GiB); // 11 GiB ≥ 80 % of 13.0 GiB
    await feed.waitFor(crossing('UP', 'ENVELOPE_80'));
    await until(() => notifications('UP'), (n) => n.length === 1);
    await use('UP', 'up-u2', 2.5 * GiB); // 13.5 GiB ≥ the envelope
    await feed.waitFor(crossing('UP', 'ENVELOPE_100'));
    await until(() => notifications('UP'), (n) => n.length === 2);
    await use('UP', 'up-u3', 7 * GiB); // 20.5 GiB: past REDUCTION (16 GiB) and BLOCK (20 GiB)
    await feed.waitFor(stateChange('UP', 'blocked'));
    const sent = await until(() => notifications('UP'), (n) => n.length === 4);

    const upEvents = feed.ofLine('UP');
    const crossings = upEvents.filter((e) => e.type === 'opensim.threshold.crossed');
    expect(crossings.map((e) => [e.id, e.data.limit, e.data.value])).toEqual([
      ['threshold:UP:2026-11:ENVELOPE_80:1', Math.ceil(0.8 * UPGRADED_ENVELOPE), 11 * GiB],
      ['threshold:UP:2026-11:ENVELOPE_100:1', UPGRADED_ENVELOPE, 13.5 * GiB],
      ['threshold:UP:2026-11:REDUCTION:1', 16 * GiB, 20.5 * GiB],
      ['threshold:UP:2026-11:BLOCK:1', 20 * GiB, 20.5 * GiB],
    ]);
    const changes = upEvents.filter((e) => e.type === 'opensim.line.data-state.changed');
    expect(changes.map((e) => e.data)).toEqual([
      { lineId: 'UP', clientAccountId: ACC, month: '2026-11', from: 'normal', to: 'reduced', reason: 'REDUCTION' },
      { lineId: 'UP', clientAccountId: ACC, month: '2026-11', from: 'reduced', to: 'blocked', reason: 'BLOCK' },
    ]);
    // In the stream: each crossing before the enforcement it caused.
    const at = (id: string) => upEvents.findIndex((e) => e.id === id);
    expect(at('threshold:UP:2026-11:REDUCTION:1')).toBeLessThan(at(changes[0]!.id));
    expect(at('threshold:UP:2026-11:BLOCK:1')).toBeLessThan(at(changes[1]!.id));
    expect(changes[1]!.id).toBe('data-state:UP:2026-11:alert:threshold:UP:2026-11:BLOCK:1');

    // Warned at each crossing, the warnings before the block; the SMS text names the out-of-bundle window.
    expect(sent.map((n) => [n._id, n.channel, n.threshold])).toEqual([
      ['threshold:UP:2026-11:ENVELOPE_80:1', 'sms', 'ENVELOPE_80'],
      ['threshold:UP:2026-11:ENVELOPE_100:1', 'sms', 'ENVELOPE_100'],
      ['threshold:UP:2026-11:REDUCTION:1', 'sms', 'REDUCTION'],
      ['threshold:UP:2026-11:BLOCK:1', 'sms', 'BLOCK'],
    ]);
    expect(sent[1]!.text).toBe("OpenSIM : votre enveloppe data de novembre 2026 (13,0 Gio) est épuisée. Au-delà, la data est facturée hors forfait jusqu'au seuil de blocage (20,0 Gio).");
    const line = (await lineDoc('UP'))!;
    expect(line.enforcement).toMatchObject({ month: '2026-11', state: 'blocked', reason: 'BLOCK' });
    expect(sent[1]!.at < line.enforcement.since).toBe(true);
    expect(line.month).toMatchObject({ usage: { frBytes: 20.5 * GiB, euBytes: 0, spendCents: 0 }, crossed: ['ENVELOPE_80', 'ENVELOPE_100', 'REDUCTION', 'BLOCK'], dataState: 'blocked' });

    // The last usage.updated says it all; the counters are exact.
    const updates = await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'UP' && usedBytes(e) === 20.5 * GiB);
    expect(updates.at(-1)!.data).toMatchObject({ envelopeBytes: UPGRADED_ENVELOPE, remainingBytes: 0, dataState: 'blocked' });
  });

  it('given a line on 20 GiB with 6 GiB used, when downgraded to 5 GiB, then REDUCTION and BLOCK are crossed by the change itself and the line is blocked at once; an upgrade back lifts the block', async () => {
    await use('DOWN', 'down-u1', 6 * GiB);
    await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'DOWN' && usedBytes(e) === 6 * GiB);

    await planChange('down-1', 'DOWN', 'DOWN-R5');
    await feed.waitFor(stateChange('DOWN', 'blocked'));
    const [applied] = client.eventsOf('opensim.plan-change.applied', (e) => e.data.requestId === 'down-1');
    expect(applied!.data).toMatchObject({ envelope: { totalBytes: 12884901887 } });
    expect(feed.ofLine('DOWN', 'opensim.threshold.crossed').map((e) => e.id)).toEqual(['threshold:DOWN:2026-11:REDUCTION:1', 'threshold:DOWN:2026-11:BLOCK:1']);
    expect(feed.ofLine('DOWN', 'opensim.line.data-state.changed').map((e) => `${e.data.from}>${e.data.to}:${e.data.reason}`)).toEqual(['normal>reduced:REDUCTION', 'reduced>blocked:BLOCK']);
    expect((await lineDoc('DOWN'))!.enforcement).toMatchObject({ state: 'blocked' });

    await client.planChange({ requestId: 'down-2', clientAccountId: ACC, serviceRef: SVC, lineId: 'DOWN', targetResourceId: 'DOWN-R20', requestedAt: '2026-11-15T10:30:00+01:00' });
    await feed.waitFor(stateChange('DOWN', 'normal'));
    expect(feed.ofLine('DOWN', 'opensim.line.data-state.changed').at(-1)!.data).toMatchObject({ from: 'blocked', to: 'normal', reason: 'PLAN_CHANGE' });
    expect((await lineDoc('DOWN'))!.enforcement).toMatchObject({ state: 'normal', reason: 'PLAN_CHANGE' });
  });

  it('given usage of October arriving in November, then October’s archived record is counted and November’s thresholds are not touched', async () => {
    await use('LATE', 'late-nov', GiB);
    await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'LATE' && e.data.month === '2026-11');
    await publishUsage(client, [usageRecord(ACC, 'LATE', 'late-oct', 19 * GiB, '2026-10-31T23:00:00+01:00', { zone: 'EU', costCents: 700 })]);
    const [october] = await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'LATE' && e.data.month === '2026-10');
    expect(october!.data).toMatchObject({ usage: { frBytes: 0, euBytes: 19 * GiB, usedBytes: 19 * GiB, spendCents: 700 }, envelopeBytes: 20 * GiB });
    const archive = await client.db.collection('lineMonths').findOne({ _id: 'LATE:2026-10' as never });
    expect(archive!.record).toMatchObject({ month: '2026-10', usage: { euBytes: 19 * GiB, spendCents: 700 }, crossed: [] });
    const line = (await lineDoc('LATE'))!;
    expect(line.month).toMatchObject({ month: '2026-11', usage: { frBytes: GiB, euBytes: 0, spendCents: 0 }, crossed: [] });
    expect(feed.ofLine('LATE', 'opensim.threshold.crossed')).toEqual([]);
  });

  it('given a usage record published again with the same message id, with another one, and again after it was counted, then it is counted once; an invalid one and one for an unknown line are dead-lettered', async () => {
    const record = usageRecord(ACC, 'DUP', 'dup-1', 3 * GiB, '2026-11-15T10:06:00+01:00', { costCents: 120 });
    await publishUsage(client, [record, record]); // same Nats-Msg-Id: JetStream keeps one
    await publishUsage(client, [record, record], (r) => `${r.usageId}-again`); // another message id: JetStream keeps it
    await publishUsage(client, [record], () => null);
    await publishUsage(client, [usageRecord(ACC, 'DUP', 'dup-2', GiB, '2026-11-15T10:07:00+01:00')]);
    await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'DUP' && usedBytes(e) === 4 * GiB);
    await publishUsage(client, [record], () => 'much-later'); // after it was counted: beyond any duplicate window
    await client.publish(`usage.${ACC}`, '{"usageId": "bad-1", "bytes": -1}', 'bad-1');
    await publishUsage(client, [usageRecord(ACC, 'NO-SUCH-LINE', 'orphan-1', GiB, '2026-11-15T10:07:00+01:00')]);
    await until(() => client.db.collection('deadLetters').find({ kind: 'usage' }).toArray(), (letters) => letters.length === 2);
    // A marker after everything else: once it is counted, the duplicates were seen and dropped.
    await publishUsage(client, [usageRecord(ACC, 'DUP', 'dup-3', GiB, '2026-11-15T10:08:00+01:00')]);
    await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === 'DUP' && usedBytes(e) === 5 * GiB);

    const line = (await lineDoc('DUP'))!;
    expect(line.month.usage).toEqual({ frBytes: 5 * GiB, euBytes: 0, spendCents: 120 });
    expect(line.usagePending).toEqual([]);
    expect(await client.db.collection('usage').countDocuments({ lineId: 'DUP' })).toBe(3);
    expect(await countedClaims(client, { lineId: 'DUP' })).toBe(3);
    const letters = await client.db.collection('deadLetters').find({ kind: 'usage' }).sort({ reason: 1 }).toArray();
    expect(letters.map((l) => [l.reason, l.requestId])).toEqual([
      ['INVALID_PAYLOAD', 'bad-1'],
      ['UNKNOWN_LINE', 'orphan-1'],
    ]);
  });
});
