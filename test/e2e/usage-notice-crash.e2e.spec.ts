import { afterEach, describe, expect, it } from 'vitest';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { MonitoringFeed, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';
import type { CloudEvent } from '../../src/contract/messages.js';

const ACC = 'UNCRASH';
const LINE = `${ACC}-L0`;
const MiB = 2 ** 20;

/**
 * The notice sweeper (src/usage/usage-notices.ts) writes a held-back `usage.updated` into the
 * line's outbox with no outbox marker: the line's notice marker, settled only after the publish,
 * stands for it. Killed with SIGKILL between its line write and the publish, the event is on the
 * line and nowhere else; the marker, still due, brings the next process's first pass to the
 * line, whose fencing write publishes the outbox as read. Exactly one `usage.updated` carries the
 * total, and nothing is left pending.
 */
describe('the notice sweeper killed after writing a held-back usage.updated, before publishing it', () => {
  let client: PipelineClient | undefined;
  let feed: MonitoringFeed | undefined;
  let running: OpensimProcess | undefined;

  afterEach(async () => {
    await running?.kill('SIGKILL');
    await feed?.close();
    await client?.cleanup();
  });

  it('given a restart, then the held-back update is published once and its marker removed', async () => {
    const env = isolatedEnv({ OPENSIM_USAGE_UPDATED_INTERVAL_MS: '1500' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 1, []));
    feed = await MonitoringFeed.open(client);
    const usedBytes = (e: CloudEvent) => (e.data as { usage: { usedBytes: number } }).usage.usedBytes;
    const updates = (bytes: number) => (e: CloudEvent) => e.type === 'opensim.usage.updated' && e.subject === LINE && usedBytes(e) === bytes;
    const now = new Date().toISOString();

    const first = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: 'usage-notices:after-line-write' });
    running = first;
    // The first update goes out with its batch; the second, within the interval, is held back for the sweeper.
    await publishUsage(client, [usageRecord(ACC, LINE, 'unc-1', 10 * MiB, now)]);
    await feed.waitFor(updates(10 * MiB), 1, 30_000);
    await publishUsage(client, [usageRecord(ACC, LINE, 'unc-2', 20 * MiB, now)]);
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');

    // The crash came where the failpoint says: the line sent its notice and holds the event, with no outbox marker.
    const lines = client.db.collection('lines');
    const atCrash = await lines.findOne({ _id: LINE as never });
    expect(atCrash?.usageNotice?.dueAt ?? null).toBeNull();
    expect((atCrash?.outbox as { event: CloudEvent }[]).map((entry) => [entry.event.type, usedBytes(entry.event)])).toEqual([['opensim.usage.updated', 30 * MiB]]);
    expect(await client.db.collection('outboxMarkers').countDocuments({ docId: LINE })).toBe(0);
    expect(await client.db.collection('noticeMarkers').findOne({ _id: LINE as never })).not.toBeNull();

    running = spawnOpensim(['start'], env);
    await feed.waitFor(updates(30 * MiB), 1, 30_000);
    await until(() => lines.findOne({ _id: LINE as never }), (doc) => (doc?.outbox ?? []).length === 0, 15_000);
    await until(() => client!.db.collection('noticeMarkers').countDocuments({ _id: LINE as never }), (n) => n === 0, 15_000);
    expect(feed.events.filter(updates(30 * MiB))).toHaveLength(1);
    expect(feed.events.filter(updates(10 * MiB))).toHaveLength(1);
  }, 90_000);
});
