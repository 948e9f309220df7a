import type { ConsumerInfo, JetStreamManager, StreamInfo } from 'nats';
import { isNotFound } from '../../messaging/streams.js';
import type { Naming } from '../../messaging/subjects.js';
import { listConsumers, oldestNeeded } from '../../retention/consumers.js';
import type { Metrics } from '../../metrics/metrics.js';

interface ConsumerSample {
  stream: string;
  consumer: string;
  info: ConsumerInfo;
  /** Age of the oldest message not yet delivered to it (0 when it is caught up). */
  lagSeconds: number;
}

interface Snapshot {
  streams: StreamInfo[];
  consumers: ConsumerSample[];
}

/**
 * Per stream (messages, bytes) and per durable consumer (pending, ack pending, redelivered,
 * lag in seconds), read at scrape time from JetStream: the command intake, the usage intake,
 * the threshold alerts, the dead-letter collector, and any durable consumer an operator added.
 * Every process reports the same values (aggregate with max).
 */
export function registerStreamGauges(metrics: Metrics, names: Naming, jsm: () => Promise<JetStreamManager | undefined>): void {
  const snapshot = memoized(async (): Promise<Snapshot> => {
    const manager = await jsm();
    if (!manager) throw new Error('NATS not connected');
    const streams: StreamInfo[] = [];
    const consumers: ConsumerSample[] = [];
    for (const stream of [names.commandStream, names.usageStream, names.eventStream, names.advisoryStream]) {
      const info = await manager.streams.info(stream).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (!info) continue;
      streams.push(info);
      for (const consumer of (await listConsumers(manager, stream)).filter((c) => c.config.durable_name)) {
        const oldest = await oldestNeeded(manager, consumer, 'undelivered');
        consumers.push({ stream, consumer: consumer.name, info: consumer, lagSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0 });
      }
    }
    return { streams, consumers };
  });
  const perConsumer = (value: (c: ConsumerSample) => number) => async () => (await snapshot()).consumers.map((c) => ({ labels: { stream: c.stream, consumer: c.consumer }, value: value(c) }));
  const labels = ['stream', 'consumer'];
  metrics.gauge('opensim_consumer_pending', 'Messages in the stream not yet delivered to the durable consumer', labels, perConsumer((c) => c.info.num_pending));
  metrics.gauge('opensim_consumer_ack_pending', 'Messages delivered to the durable consumer and not yet acknowledged', labels, perConsumer((c) => c.info.num_ack_pending));
  metrics.gauge('opensim_consumer_redelivered', 'Messages the durable consumer is being redelivered', labels, perConsumer((c) => c.info.num_redelivered));
  metrics.gauge('opensim_consumer_lag_seconds', 'Age of the oldest message not yet delivered to the durable consumer (0 when caught up)', labels, perConsumer((c) => c.lagSeconds));
  const perStream = (value: (s: StreamInfo) => number) => async () => (await snapshot()).streams.map((s) => ({ labels: { stream: s.config.name }, value: value(s) }));
  metrics.gauge('opensim_stream_messages', 'Messages held by the stream', ['stream'], perStream((s) => s.state.messages));
  metrics.gauge('opensim_stream_bytes', 'Bytes held by the stream', ['stream'], perStream((s) => s.state.bytes));
}

/** One read shared by the gauges of one scrape. */
function memoized<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const value = read();
      cached = { at: Date.now(), value };
      value.catch(() => (cached = undefined));
    }
    return cached.value;
  };
}
