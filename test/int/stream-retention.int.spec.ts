import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AckPolicy, connect, DeliverPolicy, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { reconcileStream } from '../../src/retention/stream-reconcile.js';
import type { WantedStream } from '../../src/messaging/streams.js';
import { services, uniqueName } from '../support/services.js';

/** A stream as the code before retention created it: limits, no age or size bound. */
async function unlimitedStream(nc: NatsConnection, name: string, subject: string): Promise<void> {
  await (await nc.jetstreamManager()).streams.add({ name, subjects: [subject], retention: RetentionPolicy.Limits, storage: StorageType.File, duplicate_window: 120_000_000_000 });
}

describe('reconcileStream: retention and limits updated in place, nothing unacknowledged lost', () => {
  let nc: NatsConnection;
  let stream: string;
  let subject: string;

  beforeEach(async () => {
    nc = await connect({ servers: services().natsUrl });
    stream = uniqueName('RET').toUpperCase();
    subject = `${stream.toLowerCase()}.in.*`;
  });

  afterEach(async () => {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });

  const wanted = (over: Partial<WantedStream> = {}): WantedStream => ({ name: stream, subjects: [subject], retention: 'interest', maxAgeMs: 3600_000, maxBytes: 0, ...over });
  const publish = async (n: number, from = 0) => {
    for (let i = from; i < from + n; i++) await nc.jetstream().publish(subject.replace('*', 'a'), `m${i}`);
  };
  const durable = (name: string) => nc.jetstreamManager().then((jsm) => jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: subject }));

  it('keeps limits retention while no durable consumer covers the subjects, then switches to interest: every message is still there', async () => {
    await unlimitedStream(nc, stream, subject);
    await publish(3);
    const jsm = await nc.jetstreamManager();

    const before = await reconcileStream(jsm, wanted());
    expect(before.postponed.join()).toMatch(/interest retention waits for a durable consumer/);
    expect(before.changes.max_age).toEqual({ from: 0, to: 3600_000 });
    let info = await jsm.streams.info(stream);
    expect(info.config.retention).toBe(RetentionPolicy.Limits);
    expect(info.config.max_age).toBe(3600_000 * 1_000_000);
    // Published now, with limits retention still: kept, although no consumer exists yet.
    await publish(2, 3);
    expect((await jsm.streams.info(stream)).state.messages).toBe(5);

    // A consumer filtering only part of the subjects does not make interest safe.
    await jsm.consumers.add(stream, { durable_name: 'narrow', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: subject.replace('*', 'a') });
    expect((await reconcileStream(jsm, wanted())).changes.retention).toBeUndefined();

    await durable('intake');
    const after = await reconcileStream(jsm, wanted());
    expect(after).toMatchObject({ postponed: [], changes: { retention: { from: RetentionPolicy.Limits, to: RetentionPolicy.Interest } } });
    info = await jsm.streams.info(stream);
    expect(info.config.retention).toBe(RetentionPolicy.Interest);
    expect(info.state.messages).toBe(5);
    const taken: string[] = [];
    const consumer = await nc.jetstream().consumers.get(stream, 'intake');
    for (let i = 0; i < 5; i++) {
      const m = await consumer.next({ expires: 2000 });
      taken.push(m!.string());
      m!.ack();
    }
    expect(taken).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // Kept until every interested consumer took it in: 'narrow' has not yet.
    await nc.flush();
    expect((await jsm.streams.info(stream)).state.messages).toBe(5);
    await jsm.consumers.delete(stream, 'narrow');
    await new Promise((r) => setTimeout(r, 200));
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
    // Checked again: already as wanted, nothing to change.
    expect(await reconcileStream(jsm, wanted())).toMatchObject({ changes: {}, postponed: [] });
  });

  it('why the wait matters: an interest stream with no consumer acknowledges a publish and drops the message', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Interest, storage: StorageType.File });
    const ack = await nc.jetstream().publish(subject.replace('*', 'a'), 'lost');
    expect(ack.seq).toBe(1);
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
  });

  it('goes back to limits retention when the covering consumer is deleted, so new messages are kept again', async () => {
    await unlimitedStream(nc, stream, subject);
    await durable('intake');
    const jsm = await nc.jetstreamManager();
    await reconcileStream(jsm, wanted());
    expect((await jsm.streams.info(stream)).config.retention).toBe(RetentionPolicy.Interest);
    await jsm.consumers.delete(stream, 'intake');
    const report = await reconcileStream(jsm, wanted());
    expect(report.changes.retention).toEqual({ from: RetentionPolicy.Interest, to: RetentionPolicy.Limits });
    await publish(2);
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
  });

  it('an interest stream whose durable consumer is kept, switched to limits (COMMANDS, as deployed before): what the consumer acknowledges afterwards is kept (nats-server 2.10.29)', async () => {
    await unlimitedStream(nc, stream, subject);
    await durable('intake');
    const jsm = await nc.jetstreamManager();
    await reconcileStream(jsm, wanted());
    expect((await jsm.streams.info(stream)).config.retention).toBe(RetentionPolicy.Interest);
    // Under interest, an acknowledged message goes.
    const consumer = await nc.jetstream().consumers.get(stream, 'intake');
    await publish(1);
    (await consumer.next({ expires: 2000 }))!.ack();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);

    // The switch, with the same consumer kept (not deleted): the server's fix of June 2025 was for
    // consumers that kept deleting what they acknowledged after such a switch.
    const report = await reconcileStream(jsm, wanted({ retention: 'limits' }));
    expect(report.changes.retention).toEqual({ from: RetentionPolicy.Interest, to: RetentionPolicy.Limits });
    await publish(3, 1);
    for (let i = 0; i < 3; i++) (await consumer.next({ expires: 2000 }))!.ack();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 500));
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(3);
    expect((await jsm.consumers.info(stream, 'intake')).ack_floor.stream_seq).toBe(4);
    expect((await jsm.streams.getMessage(stream, { seq: 2 })).string()).toBe('m1');
  });

  it('a tighter max_age waits while a consumer still needs an older message; applied once it is acknowledged', async () => {
    await unlimitedStream(nc, stream, subject);
    await durable('intake');
    await publish(1);
    await new Promise((r) => setTimeout(r, 1200));
    const jsm = await nc.jetstreamManager();
    const limited = wanted({ retention: 'limits', maxAgeMs: 1000 });

    const waiting = await reconcileStream(jsm, limited);
    expect(waiting.postponed.join()).toMatch(/max_age 1000 ms waits for consumer 'intake'/);
    expect(waiting.changes.max_age).toBeUndefined();
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);

    const m = await (await nc.jetstream().consumers.get(stream, 'intake')).next({ expires: 2000 });
    expect(m!.string()).toBe('m0');
    m!.ack();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    const applied = await reconcileStream(jsm, limited);
    expect(applied).toMatchObject({ postponed: [], changes: { max_age: { from: 0, to: 1000 }, duplicate_window: { from: 120_000, to: 1000 } } });
  });

  it('a max_bytes below the stream size waits while a consumer still needs messages', async () => {
    await unlimitedStream(nc, stream, subject);
    await durable('intake');
    await publish(20);
    const jsm = await nc.jetstreamManager();
    const small = wanted({ retention: 'limits', maxBytes: 100 });
    expect((await reconcileStream(jsm, small)).postponed.join()).toMatch(/max_bytes 100 waits/);
    expect((await jsm.streams.info(stream)).state.messages).toBe(20);
    const consumer = await nc.jetstream().consumers.get(stream, 'intake');
    for (let i = 0; i < 20; i++) (await consumer.next({ expires: 2000 }))!.ack();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect((await reconcileStream(jsm, small)).changes.max_bytes).toEqual({ from: 0, to: 100 });
  });
});
