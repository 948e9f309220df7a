import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, connect, headers, type NatsConnection } from 'nats';
import { services, uniqueName } from '../support/services.js';

describe('NATS JetStream (real server)', () => {
  let nc: NatsConnection;
  const stream = uniqueName('RT');
  const subject = `${stream}.msg`;

  beforeAll(async () => {
    nc = await connect({ servers: services().natsUrl });
  });
  afterAll(async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => {});
    await nc.drain();
  });

  it('given a stream and a durable consumer, when a message is published, then the consumer receives and acks it once', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'rt', ack_policy: AckPolicy.Explicit });
    const js = nc.jetstream();

    const h = headers();
    h.set('Nats-Msg-Id', 'm-1');
    const first = await js.publish(subject, JSON.stringify({ hello: 'world' }), { headers: h });
    const again = await js.publish(subject, JSON.stringify({ hello: 'world' }), { headers: h });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);

    const consumer = await js.consumers.get(stream, 'rt');
    const msg = await consumer.next({ expires: 5000 });
    expect(msg?.json()).toEqual({ hello: 'world' });
    expect(msg?.headers?.get('Nats-Msg-Id')).toBe('m-1');
    await msg?.ackAck();

    const info = await jsm.consumers.info(stream, 'rt');
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  });
});
