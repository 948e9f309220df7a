import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServers } from '../../src/infra/nats-options.js';
import { publishOutboxes, relayWhenDeferred, type DeferredEvents } from '../../src/outbox/publish-outboxes.js';
import { collections, ensureIndexes, type Collections, type OutboxEntry } from '../../src/store/documents.js';
import { mongoUrlWithDatabase, services, uniqueName } from '../support/services.js';

const NOW = '2026-11-15T10:00:00.000Z';

/**
 * publishOutboxes with `markFailed` (src/outbox/publish-outboxes.ts): a writer whose line writes
 * carry no outbox marker (a usage batch) relies on it to mark what JetStream did not take before
 * its pull removes the writer's own trace. Real MongoDB-wire server and real JetStream: one
 * subject has a stream, the other none, so one publish succeeds and the other is refused.
 */
describe('publishing outboxes written without markers', () => {
  let client: MongoClient;
  let db: Db;
  let c: Collections;
  let nc: NatsConnection;
  const stream = uniqueName('PUBOUT').toUpperCase();
  const stored = `${stream.toLowerCase()}.stored`;

  const entry = (id: string, subject: string): OutboxEntry =>
    ({ id, subject, event: { id, type: 'opensim.test', source: 'test', specversion: '1.0', time: NOW, subject: 'x', datacontenttype: 'application/json', data: {} } }) as never;

  beforeAll(async () => {
    client = await new MongoClient(mongoUrlWithDatabase(uniqueName('pubout'))).connect();
    db = client.db();
    c = collections(db);
    await ensureIndexes(c);
    nc = await connect({ servers: natsServers(services().natsUrl) });
    await (await nc.jetstreamManager()).streams.add({ name: stream, subjects: [`${stored}.>`] });
  });
  afterAll(async () => {
    await (await nc?.jetstreamManager())?.streams.delete(stream).catch(() => undefined);
    await nc?.drain();
    await db?.dropDatabase();
    await client?.close();
  });

  async function line(id: string, outbox: OutboxEntry[]) {
    const doc = { _id: id, version: 2, outbox, usagePending: [{ commit: `a:${id}`, usageIds: ['u1'] }] };
    await (c.lines as unknown as Collection<Document>).insertOne(doc as never);
    return doc;
  }

  it('given one event JetStream takes and one it refuses, then the taken one is pulled, the refused one is marked before the pending entry goes, and the relay is called', async () => {
    const ok = entry(uniqueName('ev'), `${stored}.a`);
    const refused = entry(uniqueName('ev'), `${stream.toLowerCase()}.nowhere.a`);
    const doc = await line('PO1', [ok, refused]);

    const deferred: DeferredEvents[] = [];
    const publishedFrom = new Date().toISOString();
    const result = await publishOutboxes(c, nc.jetstream(), c.lines, [doc], { alsoPull: () => ({ usagePending: { commit: 'a:PO1' } }), markFailed: { collection: 'lines' }, onDeferred: (left) => deferred.push(left) });

    expect(result).toEqual({ published: 1, failed: 1 });
    expect(deferred).toHaveLength(1);
    expect(deferred[0]!.events).toBe(1);
    expect(deferred[0]!.error).toBeInstanceOf(Error);
    const after = await c.lines.findOne({ _id: 'PO1' });
    expect(after?.outbox.map((e) => e.id)).toEqual([refused.id]);
    expect(after?.usagePending).toEqual([]);
    const markers = await c.outboxMarkers.find({ docId: 'PO1' }).toArray();
    expect(markers).toMatchObject([{ collection: 'lines', docId: 'PO1', events: [refused.id] }]);
    // Stamped on the real clock (the sweep's grace is real time), not with the events' instant.
    expect(markers[0]!.at >= publishedFrom && markers[0]!.at <= new Date().toISOString()).toBe(true);
  });

  it('given no NATS connection, then every event is marked and none pulled', async () => {
    const events = [entry(uniqueName('ev'), `${stored}.b`), entry(uniqueName('ev'), `${stored}.c`)];
    const doc = await line('PO2', events);

    const result = await publishOutboxes(c, undefined, c.lines, [doc], { alsoPull: () => ({ usagePending: { commit: 'a:PO2' } }), markFailed: { collection: 'lines' } });

    expect(result).toEqual({ published: 0, failed: 0 });
    expect((await c.lines.findOne({ _id: 'PO2' }))?.outbox.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await c.outboxMarkers.find({ docId: 'PO2' }).toArray()).toMatchObject([{ events: events.map((e) => e.id) }]);
  });

  it('given events left, then the usual callback says so and asks the relay for a sweep', async () => {
    const doc = await line('PO4', [entry(uniqueName('ev'), `${stored}.e`)]);
    const warned: unknown[] = [];
    const requested: number[] = [];

    await publishOutboxes(c, undefined, c.lines, [doc], { onDeferred: relayWhenDeferred({ request: () => requested.push(1) }, { warn: (obj: unknown) => warned.push(obj) } as never, 'a test batch') });

    expect(requested).toEqual([1]);
    expect(warned).toMatchObject([{ events: 1 }]);
  });

  it('given every event taken, then nothing is marked and the relay is not called', async () => {
    const doc = await line('PO3', [entry(uniqueName('ev'), `${stored}.d`)]);

    let deferred = 0;
    await publishOutboxes(c, nc.jetstream(), c.lines, [doc], { markFailed: { collection: 'lines' }, onDeferred: () => deferred++ });
    expect(deferred).toBe(0);

    expect((await c.lines.findOne({ _id: 'PO3' }))?.outbox).toEqual([]);
    expect(await c.outboxMarkers.countDocuments({ docId: 'PO3' })).toBe(0);
  });
});
