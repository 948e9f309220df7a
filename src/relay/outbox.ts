import type { Collection, Document } from 'mongodb';
import type { JetStreamClient } from 'nats';
import type { Logger } from '../logging/logger.js';
import type { OutboxEntry } from '../store/documents.js';
import { failpoint } from '../workers/failpoints.js';

type WithOutbox = Document & { _id: string; outbox?: OutboxEntry[] };

/**
 * Publishes the outbox of a document and pulls what JetStream acknowledged. Publishing with
 * `Nats-Msg-Id` = event id makes a re-publish after a crash a duplicate that JetStream drops;
 * pulling by id (not by position) never removes an entry appended meanwhile.
 */
export class OutboxPublisher {
  constructor(
    private readonly js: () => JetStreamClient | undefined,
    private readonly logger: Logger,
  ) {}

  /** Publishes the pending events of one document, in order; returns how many were published. */
  async flush<T extends WithOutbox>(collection: Collection<T>, id: string): Promise<number> {
    const js = this.js();
    if (!js) return 0;
    const doc = (await collection.findOne({ _id: id } as never, { projection: { outbox: 1 } })) as WithOutbox | null;
    const pending = doc?.outbox ?? [];
    if (pending.length === 0) return 0;
    const published: string[] = [];
    try {
      for (const entry of pending) {
        failpoint('relay:before-publish');
        await js.publish(entry.subject, JSON.stringify(entry.event), { msgID: entry.id });
        published.push(entry.id);
      }
    } finally {
      if (published.length > 0) {
        await collection.updateOne({ _id: id } as never, { $pull: { outbox: { id: { $in: published } } } } as never);
      }
    }
    return published.length;
  }

  /** Flushes, but a failure only logs: the state is committed and the sweeper publishes later. */
  async flushQuietly<T extends WithOutbox>(collection: Collection<T>, id: string): Promise<void> {
    try {
      await this.flush(collection, id);
    } catch (err) {
      this.logger.warn({ err, collection: collection.collectionName, id }, 'outbox publish deferred to the sweeper');
    }
  }

  /** Publishes every pending outbox of a collection (after a crash, or while NATS was away). */
  async sweep<T extends WithOutbox>(collection: Collection<T>, batch = 100): Promise<number> {
    const ids = await collection
      .find({ 'outbox.id': { $exists: true } } as never, { projection: { _id: 1 } })
      .limit(batch)
      .map((d) => (d as WithOutbox)._id)
      .toArray();
    let published = 0;
    for (const id of ids) published += await this.flush(collection, id);
    return published;
  }
}
