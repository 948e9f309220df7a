import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { naming } from '../../src/messaging/subjects.js';
import { USAGE_CONSUMER } from '../../src/usage/usage-intake.js';
import { countedClaims, MonitoringFeed, publishUsage, until, usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';

const ACC = 'BURST';
const LINES = 1_000;
const RECORDS = 50_000;
const MAX_IN_FLIGHT = 20_000;
const BATCH_MAX = 10_000;
const INTERVAL_MS = 2_000;

/**
 * A burst of 50,000 usage records for 1,000 lines, published as fast as the test can, while the
 * system (one process) counts them. Memory stays bounded because JetStream never has more than
 * OPENSIM_USAGE_MAX_IN_FLIGHT records delivered and unacknowledged; the counters are exact; each
 * line gets at most one usage.updated per interval, and the last one carries its final total.
 */
describe('a burst of usage', () => {
  let client: PipelineClient;
  let system: RunningSystem;
  let feed: MonitoringFeed;

  beforeAll(async () => {
    const env = isolatedEnv({ OPENSIM_USAGE_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT), OPENSIM_USAGE_BATCH_MAX: String(BATCH_MAX), OPENSIM_USAGE_UPDATED_INTERVAL_MS: String(INTERVAL_MS), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent" });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, LINES, []));
    feed = await MonitoringFeed.open(client);
    system = await startInProcess(env);
  });
  afterAll(async () => {
    await system?.stop();
    await feed?.close();
    await client?.cleanup();
  });

  it('given 50,000 records for 1,000 lines, then they are absorbed with at most 20,000 in flight (of 50,000), and every counter is exact', async () => {
    const now = new Date().toISOString();
    const records = Array.from({ length: RECORDS }, (_, i) =>
      usageRecord(ACC, `${ACC}-L${i % LINES}`, `b-${i}`, 1_000 + (i % 97) * 1_024, now, { zone: i % 5 === 0 ? 'EU' : 'FR', costCents: i % 3 }),
    );
    const expected = new Map<string, { frBytes: number; euBytes: number; spendCents: number }>();
    for (const r of records) {
      const e = expected.get(r.lineId) ?? { frBytes: 0, euBytes: 0, spendCents: 0 };
      if (r.zone === 'FR') e.frBytes += r.bytes;
      else e.euBytes += r.bytes;
      e.spendCents += r.costCents ?? 0;
      expected.set(r.lineId, e);
    }

    const jsm = await client.nc.jetstreamManager();
    const stream = naming(client.prefix).usageStream;
    let maxInFlight = 0;
    let maxHeap = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const info = await jsm.consumers.info(stream, USAGE_CONSUMER).catch(() => null);
        if (info) maxInFlight = Math.max(maxInFlight, info.num_ack_pending);
        maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const started = Date.now();
    await publishUsage(client, records);
    const published = Date.now();
    // Absorbed: every record acknowledged, which the intake does only once it is counted (asked of NATS, not to load MongoDB).
    await until(() => jsm.consumers.info(stream, USAGE_CONSUMER), (info) => info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= RECORDS, 120_000, 100);
    const absorbed = Date.now();
    sampling = false;
    await sampler;

    const seconds = (absorbed - started) / 1000;
    const rate = Math.round(RECORDS / seconds);
    console.log(
      `usage burst: ${RECORDS} records for ${LINES} lines published in ${((published - started) / 1000).toFixed(1)} s, all counted in ${seconds.toFixed(1)} s: ${rate} records/s; ` +
        `at most ${maxInFlight} in flight (bound ${MAX_IN_FLIGHT}); test-process heap +${Math.round((maxHeap - heapBefore) / 2 ** 20)} MiB at most`,
    );
    expect(maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);

    expect(await countedClaims(client)).toBe(RECORDS);
    const lines = await client.db.collection('lines').find({ clientAccountId: ACC }, { projection: { 'month.usage': 1, usagePending: 1 } }).toArray();
    expect(lines).toHaveLength(LINES);
    for (const line of lines) {
      expect(line.month.usage, line._id as unknown as string).toEqual(expected.get(line._id as unknown as string));
      expect(line.usagePending).toEqual([]);
    }

    // Coalesced: the last usage.updated of every line carries its final total, and one interval separates two of them.
    const total = (id: string) => expected.get(id)!.frBytes + expected.get(id)!.euBytes;
    await until(async () => new Set(feed.events.filter((e) => e.type === 'opensim.usage.updated' && (e.data.usage as { usedBytes: number }).usedBytes === total(e.subject)).map((e) => e.subject)).size, (n) => n === LINES, 30_000, 250);
    const updates = feed.events.filter((e) => e.type === 'opensim.usage.updated');
    const perLine = new Map<string, string[]>();
    for (const e of updates) perLine.set(e.subject, [...(perLine.get(e.subject) ?? []), e.time]);
    for (const times of perLine.values()) {
      for (let k = 1; k < times.length; k++) expect(Date.parse(times[k]!) - Date.parse(times[k - 1]!)).toBeGreaterThanOrEqual(INTERVAL_MS);
    }
    console.log(`usage burst: ${updates.length} usage.updated for ${RECORDS} records (at most one per line per ${INTERVAL_MS} ms)`);
  }, 180_000);
});

