import type { Queue } from 'bullmq';
import type { JetStreamManager } from 'nats';
import type { Pipeline } from '../../platform/pipeline.js';
import type { Naming } from '../../messaging/subjects.js';
import { DEAD_LETTER_REASONS, deadLetterCounts } from '../../operations/dead-letters.js';
import { intakeStats, queueStats } from '../../operations/queue-stats.js';
import { outboxCollections } from '../../relay/relay.js';
import type { Metrics } from '../../metrics/metrics.js';

/**
 * Gauges read at scrape time from the shared servers: every process reports the same
 * values (aggregate them with max, not sum).
 */
export function registerPipelineGauges(metrics: Metrics, pipeline: Pipeline, names: Naming, jsm: () => Promise<JetStreamManager | undefined>, queues: readonly Queue[] = pipeline.queues.queues): void {
  metrics.gauge('opensim_queue_jobs', 'Jobs per BullMQ queue (command partitions and the rollover) and state', ['queue', 'state'], async () => {
    const stats = await queueStats(queues, 1);
    return stats.flatMap((q) => Object.entries(q.counts).map(([state, value]) => ({ labels: { queue: q.queue, state }, value })));
  });
  metrics.gauge('opensim_queue_oldest_waiting_seconds', 'Age of the job that has waited longest, per queue (0 when none waits)', ['queue'], async () => {
    const stats = await queueStats(queues, 1);
    return stats.map((q) => ({ labels: { queue: q.queue }, value: (q.oldestWaitingMs ?? 0) / 1000 }));
  });
  metrics.gauge('opensim_intake_messages', 'Commands in JetStream not yet taken in: pending (not delivered) and ack_pending (being enqueued)', ['state'], async () => {
    const manager = await jsm();
    const stats = manager ? await intakeStats(manager, names) : null;
    if (!stats) return [];
    return [
      { labels: { state: 'pending' }, value: stats.pending },
      { labels: { state: 'ack_pending' }, value: stats.ackPending },
    ];
  });
  metrics.gauge('opensim_outbox_backlog', 'Documents whose outbox still holds events to publish, per collection', ['collection'], async () => {
    const collections = outboxCollections(pipeline.collections);
    const counts = await Promise.all(collections.map((col) => (col as typeof pipeline.collections.lines).countDocuments({ 'outbox.0': { $exists: true } } as never)));
    return collections.map((col, i) => ({ labels: { collection: col.collectionName }, value: counts[i]! }));
  });
  metrics.gauge('opensim_dead_letters', 'Dead letters in MongoDB by reason and status (open, retried, discarded)', ['reason', 'status'], async () => {
    const counts = await deadLetterCounts(pipeline.collections);
    return DEAD_LETTER_REASONS.flatMap((reason) => (['open', 'retried', 'discarded'] as const).map((status) => ({ labels: { reason, status }, value: counts[reason]?.[status] ?? 0 })));
  });
}
