import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import type { JetStreamClient } from 'nats';
import type { Collections, OutboxEntry } from '../store/documents.js';
import { groupCommit } from '../store/group-commit.js';
import { outboxMarker, writeMarkers, type MarkedCollection, type MarkerRef, type OutboxMarker } from '../store/outbox-markers.js';
import { publishOptions } from '../tracing/message-trace.js';
import type { Logger } from '../logging/logger.js';
import type { SweepSchedule } from '../runtime/sweep-schedule.js';

/** A document's pending outbox, and the markers (store/outbox-markers.ts) of the writes that appended it. */
type WithOutbox = Document & { _id: string; outbox?: OutboxEntry[]; markers?: readonly MarkerRef[] };

export interface PublishOutboxesOptions {
  /** Other fields to `$pull` in the same update as the published events (per document). */
  alsoPull?: (id: string) => Document | null;
  /**
   * For documents written with no outbox marker (line-writes.ts, `markOutbox: false`): what is
   * not published is marked before the pull, since the pull may remove the writer's own trace.
   */
  markFailed?: { collection: MarkedCollection };
  /** Told when events were left unpublished: the relay's sweep should come for them soon, not at its full pace. */
  onDeferred?: (left: DeferredEvents) => void;
}

/** Events a batch publish left to the relay, and why (the first refusal; none when NATS was away). */
export interface DeferredEvents {
  events: number;
  error?: unknown;
}

/** The usual `onDeferred`: say it, and have the relay of this process sweep at its next pass. */
export function relayWhenDeferred(sweeps: Pick<SweepSchedule, 'request'>, logger: Pick<Logger, 'warn'>, what: string): (left: DeferredEvents) => void {
  return ({ events, error }) => {
    logger.warn({ events, err: error }, `${what}: events not published; left to the relay`);
    sweeps.request();
  };
}

/**
 * The batch form of `OutboxPublisher.flush`, for writers that change many documents at once
 * (a usage batch, a rollover page): publishes the whole pending outbox of each document, in
 * order (one connection keeps the order JetStream stores), then pulls what JetStream
 * acknowledged — with `alsoPull` in the same update — in one bulkWrite. Publishing a
 * document's whole outbox, not only what this writer appended, keeps events of one line in
 * order even when two writers flush it at once: whoever publishes an event has published every
 * earlier one first, and JetStream drops the repeats by id. The markers of a document all of
 * whose events were published are removed.
 */
export async function publishOutboxes<T extends WithOutbox>(
  c: Collections,
  js: JetStreamClient | undefined,
  collection: Collection<T>,
  docs: readonly WithOutbox[],
  options: PublishOutboxesOptions = {},
): Promise<{ published: number; failed: number }> {
  const sends = docs.map((doc) => ({
    id: doc._id,
    entries: doc.outbox ?? [],
    acks: js ? (doc.outbox ?? []).map((entry) => js.publish(entry.subject, JSON.stringify(entry.event), publishOptions(entry))) : [],
  }));
  let published = 0;
  let failed = 0;
  let error: unknown;
  const ops: AnyBulkWriteOperation<T>[] = [];
  const unmark: MarkerRef[] = [];
  const mark: OutboxMarker[] = [];
  for (const [k, send] of sends.entries()) {
    const settled = await Promise.allSettled(send.acks);
    const done = send.entries.filter((_, k) => settled[k]?.status === 'fulfilled');
    error ??= settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    const ids = done.map((entry) => entry.id);
    published += ids.length;
    if (js) failed += send.entries.length - ids.length;
    if (js && ids.length === send.entries.length) unmark.push(...(docs[k]!.markers ?? []));
    const unpublished = send.entries.filter((entry) => !ids.includes(entry.id));
    const marker = options.markFailed ? outboxMarker(options.markFailed.collection, send.id, unpublished) : null;
    if (marker) mark.push(marker);
    const pull: Document = { ...(options.alsoPull?.(send.id) ?? {}), ...(ids.length > 0 ? { outbox: { id: { $in: ids } } } : {}) };
    if (Object.keys(pull).length > 0) ops.push({ updateOne: { filter: { _id: send.id } as never, update: { $pull: pull } as never } });
  }
  // Marked before the pull: for the relay (outbox/outbox-sweep.ts) to publish them later.
  await writeMarkers(c, mark);
  const left = sends.reduce((n, send) => n + send.entries.length, 0) - published;
  if (left > 0) options.onDeferred?.({ events: left, error });
  if (ops.length > 0) await collection.bulkWrite(ops, { ordered: false });
  await groupCommit(c).unmarks.submitAll(unmark);
  return { published, failed };
}
