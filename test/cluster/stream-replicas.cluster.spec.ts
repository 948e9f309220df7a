import { AckPolicy, connect, DeliverPolicy, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServers } from '../../src/infra/nats-options.js';
import { ensureStreams, streamReplicas } from '../../src/messaging/streams.js';
import { naming } from '../../src/messaging/subjects.js';
import { reconcileStream } from '../../src/retention/stream-reconcile.js';
import { services, uniqueName } from '../support/services.js';

/** Streams on the 3-node NATS cluster: created at 3 replicas, and an existing stream brought to 3 in place. */
describe('NATS cluster: streams at 3 replicas', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const created: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsServers(services().natsUrl) });
    jsm = await nc.jetstreamManager();
  });
  afterAll(async () => {
    for (const stream of created) await jsm.streams.delete(stream).catch(() => {});
    await nc.close();
  });

  it('given auto, then the cluster of three means 3, and the streams of a deployment are created with 3 replicas', async () => {
    expect(streamReplicas('auto', nc.info)).toBe(3);
    const names = naming(uniqueName('rep'));
    await ensureStreams(jsm, names);
    const streams = [names.commandStream, names.usageStream, names.eventStream, names.advisoryStream];
    created.push(...streams);
    for (const stream of streams) {
      const info = await jsm.streams.info(stream);
      expect({ stream, replicas: info.config.num_replicas, peers: 1 + (info.cluster?.replicas?.length ?? 0) }).toEqual({ stream, replicas: 3, peers: 3 });
    }
  });

  it('given a stream at 1 replica with messages and a durable consumer, when reconciled with 3, then it is updated in place, nothing lost, the consumer follows', async () => {
    const name = uniqueName('REP').toUpperCase();
    const subject = `${name.toLowerCase()}.cmd`;
    created.push(name);
    await jsm.streams.add({ name, subjects: [subject], num_replicas: 1 });
    const js = nc.jetstream();
    for (let i = 0; i < 50; i++) await js.publish(subject, String(i));
    await jsm.consumers.add(name, { durable_name: 'intake', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: subject });

    const wanted = { name, subjects: [subject], retention: 'limits' as const, maxAgeMs: 3_600_000, maxBytes: 0, replicas: 3 };
    const report = await reconcileStream(jsm, wanted);
    expect(report.changes.num_replicas).toEqual({ from: 1, to: 3 });
    // The grown group elects its leader, and the new peers catch up from it.
    const deadline = Date.now() + 30_000;
    const settled = (i: typeof info) => Boolean(i.cluster?.leader) && (i.cluster?.replicas ?? []).filter((r) => r.current).length === 2;
    let info = await jsm.streams.info(name);
    while (!settled(info) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      info = await jsm.streams.info(name);
    }
    expect({ replicas: info.config.num_replicas, currentPeers: (info.cluster?.replicas ?? []).filter((r) => r.current).length, messages: info.state.messages }).toEqual({ replicas: 3, currentPeers: 2, messages: 50 });
    const consumer = await jsm.consumers.info(name, 'intake');
    expect({ ownSetting: consumer.config.num_replicas ?? 0, peers: 1 + (consumer.cluster?.replicas?.length ?? 0), pending: consumer.num_pending }).toEqual({ ownSetting: 0, peers: 3, pending: 50 });
    // Reconciled again: nothing more to do.
    expect(await reconcileStream(jsm, wanted)).toMatchObject({ changes: {}, postponed: [] });
  });
});
