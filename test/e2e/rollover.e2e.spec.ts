import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { nextMonth, parisDay, parisMonth } from '../../src/domain/index.js';
import { ROLLOVER_SCHEDULER, rolloverQueueName } from '../../src/rollover/month-rollover.js';
import { GiB, MonitoringFeed, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'ROLL';
const LINES = 1_000;

/** A clock the test moves: it reads `at` when set, then runs at the speed of real time. */
function movableClock(at: string) {
  let offset = Date.parse(at) - Date.now();
  return { now: () => new Date(Date.now() + offset), set: (to: string) => (offset = Date.parse(to) - Date.now()) };
}

describe('month rollover', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;
  let feed: MonitoringFeed | undefined;
  let queue: Queue | undefined;

  afterEach(async () => {
    await system?.stop();
    await queue?.close();
    await feed?.close();
    await client?.cleanup();
    system = queue = feed = client = undefined;
  });

  it('is scheduled at 00:00 Europe/Paris on the 1st of each month', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    // The scheduler reads the real clock once, between these two instants: on a run that starts
    // seconds before a month boundary, either month's next 1st is right.
    const before = new Date().toISOString();
    system = await startInProcess(env);
    queue = new Queue(rolloverQueueName(client.prefix), { connection: client.redis });
    const scheduler = await until(() => queue!.getJobScheduler(ROLLOVER_SCHEDULER), (s) => !!s);
    const after = new Date().toISOString();
    expect(scheduler).toMatchObject({ pattern: '0 0 1 * *', tz: 'Europe/Paris' });
    const next = new Date(scheduler!.next!).toISOString();
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(next));
    expect([before, after].map((at) => `${nextMonth(parisMonth(at))}-01`)).toContain(parisDay(next));
    expect(next > before).toBe(true);
    expect(paris).toBe('00:00');
  });

  it(`given ${LINES} lines in November (one blocked, one with an update held back), when the job runs on a clock at the December boundary, every second, then each line is reset once: usage zero, envelope of its plan, data state normal, envelope.recomputed month-start`, async () => {
    const env = isolatedEnv({ OPENSIM_ROLLOVER_CRON: '* * * * * *', OPENSIM_ROLLOVER_BATCH: '100', OPENSIM_USAGE_UPDATED_INTERVAL_MS: '60000' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, LINES, []));
    feed = await MonitoringFeed.open(client);
    const clock = movableClock('2026-11-20T12:00:00+01:00');
    system = await startInProcess(env, { clock: clock.now });
    queue = new Queue(rolloverQueueName(client.prefix), { connection: client.redis });
    const lines = client.db.collection('lines');

    // November: the scheduler opens it on every seeded line; L0 is blocked; L1's second update is held back 60 s.
    await until(() => lines.countDocuments({ 'month.month': '2026-11' }), (n) => n === LINES, 30_000, 200);
    // Opening November is not one write on every line (a page's outbox can be settled by a second
    // one): the versions are counted from once they stay still.
    const versions = async () => JSON.stringify(await lines.find({}, { projection: { version: 1 } }).sort({ _id: 1 }).toArray());
    let seen = await versions();
    await until(async () => [seen, (seen = await versions())], ([a, b]) => a === b, 30_000, 1000);
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L0`, 'r-0', 20.5 * GiB, '2026-11-20T12:00:01+01:00')]);
    await feed.waitFor((e) => e.type === 'opensim.line.data-state.changed' && e.subject === `${ACC}-L0` && e.data.to === 'blocked');
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L1`, 'r-1a', GiB, '2026-11-20T12:00:01+01:00')]);
    await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === `${ACC}-L1`);
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L1`, 'r-1b', 2 * GiB, '2026-11-20T12:00:02+01:00')]);
    await until(() => lines.findOne({ _id: `${ACC}-L1` as never }), (l) => l?.usageNotice?.dueAt != null && l.month.usage.frBytes === 3 * GiB);
    const before = new Map((await lines.find({}, { projection: { version: 1 } }).toArray()).map((l) => [String(l._id), l.version as number]));

    // The boundary: 1 December 2026, 00:00:00.2 Paris. The scheduler fires every second: the job runs again and again.
    clock.set('2026-12-01T00:00:00.200+01:00');
    const december = async () => (await queue!.getCompleted(0, 200)).filter((job) => job.returnvalue?.month === '2026-12');
    const runs = await until(december, (jobs) => jobs.length >= 3, 60_000, 250);
    await feed.waitFor((e) => e.type === 'opensim.line.data-state.changed' && e.subject === `${ACC}-L0` && e.data.to === 'normal');

    // Each line rolled once, by one of the runs; the others found nothing left.
    expect(runs.map((job) => job.returnvalue.rolled).sort((a: number, b: number) => b - a)).toEqual([LINES, ...Array(runs.length - 1).fill(0)]);
    const starts = feed.events.filter((e) => e.type === 'opensim.envelope.recomputed' && e.data.month === '2026-12');
    expect(starts).toHaveLength(LINES);
    expect(new Set(starts.map((e) => e.id)).size).toBe(LINES);
    expect(starts.every((e) => e.data.cause === 'month-start' && e.id === `envelope:${e.subject}:2026-12:month-start`)).toBe(true);
    const after = await lines.find({}, { projection: { version: 1, month: 1, enforcement: 1, usagePending: 1 } }).toArray();
    for (const line of after) {
      expect(line.month).toMatchObject({ month: '2026-12', usage: { frBytes: 0, euBytes: 0, spendCents: 0 }, crossed: [], dataState: 'normal', envelope: { totalBytes: 20 * GiB } });
      // One write by the rollover. L0 also had its block lifted by the alert consumer. L1's held-back
      // update became due when the clock jumped: the sweeper may have sent it before the rollover did,
      // and each of its passes that finds the line's notice marker due writes the line (a fencing
      // write, usage-notices.ts), so L1's count is the sweeper's timing; its events are checked below.
      const writes = line.version - before.get(String(line._id))!;
      if (String(line._id) === `${ACC}-L0`) expect(writes).toBe(2);
      else if (String(line._id) === `${ACC}-L1`) expect(writes).toBeGreaterThanOrEqual(1);
      else expect(writes).toBe(1);
    }
    expect(after.find((l) => String(l._id) === `${ACC}-L0`)!.enforcement).toMatchObject({ month: '2026-12', state: 'normal', reason: 'MONTH_START' });

    // November is kept: archived as it ended; L1's held-back update went out with November's last state.
    const archives = client.db.collection('lineMonths');
    expect(await archives.countDocuments({ month: '2026-11' })).toBe(LINES);
    expect((await archives.findOne({ _id: `${ACC}-L0:2026-11` as never }))!.record).toMatchObject({ usage: { frBytes: 20.5 * GiB }, dataState: 'blocked' });
    const l1 = feed.ofLine(`${ACC}-L1`, 'opensim.usage.updated');
    expect(l1.map((e) => [e.id, e.data.month, (e.data.usage as { usedBytes: number }).usedBytes])).toEqual([
      [`usage:${ACC}-L1:r-1a`, '2026-11', GiB],
      [`usage:${ACC}-L1:r-1b`, '2026-11', 3 * GiB],
    ]);
  }, 120_000);
});
