import { RetentionPolicy, type ConsumerInfo, type JetStreamManager, type StreamConfig, type StreamInfo } from 'nats';
import { createStream, DUPLICATE_WINDOW_MS, isNotFound, type WantedStream } from '../messaging/streams.js';
import { listConsumers, oldestNeeded, storedSubjects, uncoveredSubjects } from './consumers.js';

/** What one check of a stream found and did. */
export interface StreamReport {
  stream: string;
  /** Each changed setting, as `{from, to}` (durations in ms, sizes in bytes, 0 = unlimited). */
  changes: Record<string, { from: unknown; to: unknown }>;
  /** Why the stream is not yet as configured (it is checked again later); empty when it is. */
  postponed: string[];
  created: boolean;
}

const NS_PER_MS = 1_000_000;

/**
 * Brings one existing stream to its wanted retention and limits, in place (JetStream 2.10
 * switches limits <-> interest without recreating the stream), never deleting a message that a
 * durable consumer has not acknowledged yet:
 * - interest retention only once keeping durable consumers cover every subject: an interest
 *   stream drops at once a message in which no consumer is interested. Until then (first start,
 *   before the roles created their consumers; a consumer deleted; a subject added that no
 *   consumer filters) it keeps, or goes back to, limits retention, and max_age is the bound;
 * - a tighter max_age waits while a consumer still needs a message older than it;
 * - a tighter max_bytes waits while the stream is over it and a consumer still needs anything
 *   (JetStream does not say how many bytes follow a given message).
 */
export async function reconcileStream(jsm: JetStreamManager, wanted: WantedStream): Promise<StreamReport> {
  const report: StreamReport = { stream: wanted.name, changes: {}, postponed: [], created: false };
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(wanted.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await createStream(jsm, wanted);
    report.created = true;
    info = await jsm.streams.info(wanted.name);
  }
  const current = info.config;
  const consumers = await listConsumers(jsm, wanted.name);
  const next: Partial<StreamConfig> = {};
  const change = (key: keyof StreamConfig, from: unknown, to: unknown, value: unknown) => {
    if (from === to) return;
    report.changes[key] = { from, to };
    (next as Record<string, unknown>)[key] = value;
  };

  const missing = wanted.subjects.filter((s) => !current.subjects.includes(s));
  if (missing.length > 0) change('subjects', current.subjects, wanted.subjects, [...current.subjects, ...missing]);
  const subjects = [...current.subjects, ...missing];

  let retention = RetentionPolicy.Limits;
  if (wanted.retention === 'interest') {
    // A partitioned stream (the command stream) stores under the transformed subjects: those are what consumers filter.
    const uncovered = uncoveredSubjects(storedSubjects(subjects, current.subject_transform), consumers);
    if (uncovered.length === 0) retention = RetentionPolicy.Interest;
    else report.postponed.push(`interest retention waits for a durable consumer (deliver all, explicit ack) on ${uncovered.join(', ')}`);
  }
  change('retention', current.retention, retention, retention);

  const currentAge = current.max_age / NS_PER_MS;
  if (currentAge !== wanted.maxAgeMs) {
    const tighter = wanted.maxAgeMs < currentAge || currentAge === 0;
    const needed = tighter ? await oldestUnacknowledged(jsm, consumers) : null;
    if (needed && Date.now() - needed.at.getTime() >= wanted.maxAgeMs) {
      report.postponed.push(`max_age ${wanted.maxAgeMs} ms waits for consumer '${needed.consumer}' (it still needs a message stored at ${needed.at.toISOString()})`);
    } else {
      change('max_age', currentAge, wanted.maxAgeMs, wanted.maxAgeMs * NS_PER_MS);
      // JetStream refuses a duplicate window longer than max_age.
      const window = Math.min(DUPLICATE_WINDOW_MS, wanted.maxAgeMs);
      change('duplicate_window', current.duplicate_window / NS_PER_MS, window, window * NS_PER_MS);
    }
  }

  const currentBytes = current.max_bytes > 0 ? current.max_bytes : 0;
  if (currentBytes !== wanted.maxBytes) {
    const cuts = wanted.maxBytes > 0 && info.state.bytes > wanted.maxBytes;
    const needed = cuts ? await oldestUnacknowledged(jsm, consumers) : null;
    if (needed) report.postponed.push(`max_bytes ${wanted.maxBytes} waits: the stream holds ${info.state.bytes} bytes and consumer '${needed.consumer}' still needs some`);
    else change('max_bytes', currentBytes, wanted.maxBytes, wanted.maxBytes > 0 ? wanted.maxBytes : -1);
  }

  if (Object.keys(next).length > 0) await jsm.streams.update(wanted.name, next);
  await reconcileReplicas(jsm, wanted, current.num_replicas, report);
  return report;
}

/**
 * Replicas changed in place (JetStream moves the stream's data to the new peers; consumers that
 * did not set their own count follow the stream). An update on its own: a cluster that cannot
 * place them (too few servers, or one down) postpones only this setting.
 */
async function reconcileReplicas(jsm: JetStreamManager, wanted: WantedStream, current: number, report: StreamReport): Promise<void> {
  if (typeof wanted.replicas !== 'number' || wanted.replicas === current) return;
  try {
    await jsm.streams.update(wanted.name, { num_replicas: wanted.replicas });
    report.changes.num_replicas = { from: current, to: wanted.replicas };
  } catch (err) {
    report.postponed.push(`num_replicas ${wanted.replicas} (now ${current}) waits: ${(err as Error).message}`);
  }
}

async function oldestUnacknowledged(jsm: JetStreamManager, consumers: readonly ConsumerInfo[]): Promise<{ consumer: string; at: Date } | null> {
  let oldest: { consumer: string; at: Date } | null = null;
  for (const consumer of consumers) {
    const at = await oldestNeeded(jsm, consumer, 'unacknowledged');
    if (at && (!oldest || at < oldest.at)) oldest = { consumer: consumer.name, at };
  }
  return oldest;
}
