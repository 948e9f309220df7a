import { afterEach, describe, expect, it } from 'vitest';
import { spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { countedClaims, GiB, MonitoringFeed, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';

const ACC = 'UCRASH';
const LINES = 3;
const PER_LINE = 10;

/**
 * A usage batch killed with SIGKILL between its steps (usage-writer.ts): after the claims,
 * after the line commits, after the claims are settled — each time before anything was
 * acknowledged to JetStream. The messages come back after the ack wait (shrunk to 1.5 s), to
 * a new process, and every record is counted exactly once; the events committed before the
 * crash (whose writes carry no outbox marker) are published by the attempt that finds them.
 */
describe('usage counting killed with SIGKILL between its steps', () => {
  let client: PipelineClient | undefined;
  let feed: MonitoringFeed | undefined;
  let running: OpensimProcess | undefined;

  afterEach(async () => {
    await running?.kill('SIGKILL');
    await feed?.close();
    await client?.cleanup();
  });

  it.each([
    ['after the claims, before any line is written', 'usage:after-claims'],
    ['after the lines are written, before the claims say so', 'usage:after-commit'],
    ['after the claims are settled, before publishing and acknowledging', 'usage:after-settle'],
  ])('%s: after restart every record is counted once', async (_when, failpoint) => {
    const env = isolatedEnv({ OPENSIM_USAGE_ACK_WAIT_MS: '1500', OPENSIM_USAGE_UPDATED_INTERVAL_MS: '100', OPENSIM_USAGE_BATCH_LINGER_MS: '1000' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, LINES, []));
    feed = await MonitoringFeed.open(client);
    const now = new Date().toISOString();
    const records = Array.from({ length: LINES * PER_LINE }, (_, i) => usageRecord(ACC, `${ACC}-L${i % LINES}`, `uc-${i}`, (i + 1) * 10 * 2 ** 20, now, { costCents: i }));
    await publishUsage(client, records);

    const first = spawnOpensim(['start'], { ...env, OPENSIM_FAILPOINT: failpoint });
    running = first;
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const lines = client.db.collection('lines');
    const claims = client.db.collection('usage');
    // The crash happened where the failpoint says.
    const atCrash = { claimed: await claims.countDocuments({}), applied: await countedClaims(client), pending: await lines.countDocuments({ 'usagePending.0': { $exists: true } }) };
    // One batch of all 30 records, for the three lines (the intake lingers 1 s for a full batch).
    expect(atCrash.claimed).toBe(records.length);
    if (failpoint === 'usage:after-claims') expect(atCrash).toMatchObject({ applied: 0, pending: 0 });
    if (failpoint === 'usage:after-commit') expect(atCrash.applied).toBe(0);
    if (failpoint !== 'usage:after-claims') expect(atCrash.pending).toBe(LINES);
    if (failpoint === 'usage:after-settle') expect(atCrash.applied).toBe(atCrash.claimed);
    // The line commits carry no outbox marker: the unacknowledged messages and the pending entries stand for them.
    const markers = client.db.collection('outboxMarkers');
    expect(await markers.countDocuments({ collection: 'lines' })).toBe(0);
    if (failpoint !== 'usage:after-claims') expect(await lines.countDocuments({ 'outbox.0': { $exists: true } })).toBe(LINES);

    running = spawnOpensim(['start'], env);
    const expected = (lineIndex: number) => records.filter((_, i) => i % LINES === lineIndex);
    for (let l = 0; l < LINES; l++) {
      const mine = expected(l);
      const bytes = mine.reduce((sum, r) => sum + r.bytes, 0);
      const spend = mine.reduce((sum, r) => sum + (r.costCents ?? 0), 0);
      const line = await until(() => lines.findOne({ _id: `${ACC}-L${l}` as never }), (doc) => doc?.month?.usage.frBytes === bytes && (doc?.usagePending ?? []).length === 0, 30_000);
      expect(line!.month.usage).toEqual({ frBytes: bytes, euBytes: 0, spendCents: spend });
      // The last usage.updated of the line carries the exact total.
      await feed.waitFor((e) => e.type === 'opensim.usage.updated' && e.subject === `${ACC}-L${l}` && (e.data.usage as { usedBytes: number }).usedBytes === bytes, 1, 15_000);
    }
    expect(await countedClaims(client)).toBe(records.length);
    // The events the crashed attempt committed were published by the one that found its entries.
    await until(() => lines.countDocuments({ 'outbox.0': { $exists: true } }), (n) => n === 0, 15_000);

    // Published again long after (other message ids): still counted once.
    await publishUsage(client, records.slice(0, 5), (r) => `${r.usageId}-replay`);
    await publishUsage(client, [usageRecord(ACC, `${ACC}-L0`, 'marker', GiB, now)]);
    const total0 = expected(0).reduce((sum, r) => sum + r.bytes, 0) + GiB;
    const line0 = await until(() => lines.findOne({ _id: `${ACC}-L0` as never }), (doc) => doc?.month?.usage.frBytes === total0, 15_000);
    expect(line0!.month.usage.frBytes).toBe(total0);
  }, 90_000);
});
