import type { Collection, Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parisMonth } from '../../src/domain/index.js';
import { collections, ensureIndexes, type Collections } from '../../src/store/documents.js';
import { references } from '../../src/store/plan-change-store.js';
import { writeUsageBatch, type UsageMessage } from '../../src/usage/usage-writer.js';
import { usageRecord } from '../support/monitoring.js';
import { fleet, isolatedEnv, PipelineClient } from '../support/pipeline.js';

const ACC = 'UNOTICE';
const LINE = `${ACC}-L0`;

/**
 * A usage batch that holds a `usage.updated` back asks the notice sweeper to run at its due time
 * (src/usage/usage-writer.ts, `onNoticeDue`). It must ask only once the line's notice marker is
 * written: a sweep that started between an earlier request and the marker's write took the
 * request, missed the marker, and left the notice to the full-sweep pace (30 s late; caught by
 * the usage bench). The order is observed on the calls themselves (the collection is the real
 * one, on the test server; the wrapper only notes when its writes complete), so the interleaving
 * does not depend on timing.
 */
describe('a held-back usage.updated asks for its sweep after its marker is written', () => {
  let client: PipelineClient;
  let c: Collections;
  const order: string[] = [];

  beforeAll(async () => {
    client = await PipelineClient.open(isolatedEnv());
    await client.seed(fleet(ACC, 1, []));
    const real = collections(client.db);
    await ensureIndexes(real);
    const markers = real.noticeMarkers as unknown as Collection<Document>;
    const noted = new Proxy(markers, {
      get(target, property) {
        if (property === 'bulkWrite') return (...args: Parameters<typeof target.bulkWrite>) => target.bulkWrite(...args).then((result) => (order.push('marker written'), result));
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    c = { ...real, noticeMarkers: noted as unknown as Collections['noticeMarkers'] };
  });
  afterAll(async () => {
    await client?.cleanup();
  });

  it('given a second batch within the interval, then the sweep is asked for its due time, after the marker says it', async () => {
    const requested: string[] = [];
    const deps = {
      collections: c,
      references: references(c),
      js: () => undefined,
      prefix: client.config.OPENSIM_SUBJECT_PREFIX,
      usageStream: 'USAGE_TEST',
      usageUpdatedIntervalMs: 60_000,
      ackWaitMs: 60_000,
      onNoticeDue: (dueAt: string) => {
        order.push('sweep asked for');
        requested.push(dueAt);
      },
    };
    const message = (seq: number, at: string): UsageMessage => {
      const record = usageRecord(ACC, LINE, `un-${seq}`, 1000, at);
      return { seq, subject: `x.usage.${ACC}`, record, month: parisMonth(at), redelivered: false, receivedAt: Date.now() };
    };
    const first = new Date();
    // The first update goes out at once; the second, within the interval, is held back.
    await writeUsageBatch(deps, [message(1, first.toISOString())], first.toISOString());
    expect(requested).toEqual([]);
    const second = new Date(first.getTime() + 1000).toISOString();
    await writeUsageBatch(deps, [message(2, second)], second);

    const due = new Date(first.getTime() + 60_000).toISOString();
    expect(requested).toEqual([due]);
    expect(order.slice(order.indexOf('sweep asked for') - 1)).toEqual(['marker written', 'sweep asked for']);
    expect(await c.noticeMarkers.findOne({ _id: LINE })).toMatchObject({ dueAt: due });
    expect((await c.lines.findOne({ _id: LINE }))?.usageNotice).toMatchObject({ dueAt: due });
  });
});
