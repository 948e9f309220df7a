import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import type { JetStreamClient } from 'nats';
import type { Collections, OutboxEntry } from '../store/documents.js';
import { groupCommit } from '../store/group-commit.js';
import type { MarkerRef } from '../store/outbox-markers.js';
import { publishOptions } from '../tracing/message-trace.js';

/** A document's pending outbox, and the markers (store/outbox-markers.ts) of the writes that appended it. */
type WithOutbox = Document & { _id: string; outbox?: OutboxEntry[]; markers?: readonly MarkerRef[] };

/**
 * The batch form of `OutboxPublisher.flush`, for writers that change many documents at once
 * (a usage batch, a rollover page): publishes the whole pending outbox of each document, in
 * order (one connection keeps the order JetStream stores), then pulls what JetStream
 * acknowledged — with `alsoPull` (other fields to `$pull` in the same update) — in one
 * bulkWrite. Publishing a document's whole outbox, not only what this writer appended, keeps
 * events of one line in order even when two writers flush it at once: whoever publishes an
 * event has published every earlier one first, and JetStream drops the repeats by id. The
 * markers of a document all of whose events were published are removed.
 */
export async function publishOutboxes<T extends WithOutbox>(
  c: Collections,
  js: JetStreamClient | undefined,
  collection: Collection<T>,
  docs: readonly WithOutbox[],
  alsoPull: (id: string) => Document | null = () => null,
): Promise<{ published: number; failed: number }> {
  const sends = docs.map((doc) => ({
    id: doc._id,
    entries: js ? (doc.outbox ?? []) : [],
    acks: js ? (doc.outbox ?? []).map((entry) => js.publish(entry.subject, JSON.stringify(entry.event), publishOptions(entry))) : [],
  }));
  let published = 0;
  let failed = 0;
  const ops: AnyBulkWriteOperation<T>[] = [];
  const unmark: MarkerRef[] = [];
  for (const [k, send] of sends.entries()) {
    const settled = await Promise.allSettled(send.acks);
    const ids = send.entries.filter((_, k) => settled[k]!.status === 'fulfilled').map((entry) => entry.id);
    published += ids.length;
    failed += send.entries.length - ids.length;
    if (js && ids.length === send.entries.length) unmark.push(...(docs[k]!.markers ?? []));
    const pull: Document = { ...(alsoPull(send.id) ?? {}), ...(ids.length > 0 ? { outbox: { id: { $in: ids } } } : {}) };
    if (Object.keys(pull).length > 0) ops.push({ updateOne: { filter: { _id: send.id } as never, update: { $pull: pull } as never } });
  }
  if (ops.length > 0) await collection.bulkWrite(ops, { ordered: false });
  await groupCommit(c).unmarks.submitAll(unmark);
  return { published, failed };
}
