import type { Collection, Document } from 'mongodb';
import type { JetStreamClient } from 'nats';
import type { Logger } from '../logging/logger.js';
import type { Collections, OutboxEntry } from '../store/documents.js';
import { groupCommit } from '../store/group-commit.js';
import type { MarkerRef } from '../store/outbox-markers.js';
import { failpoint } from '../runtime/failpoints.js';
import { sweepMarked } from './outbox-sweep.js';
import { RecentlyPublished } from './recently-published.js';
import { inPublishSpan, publishOptions } from '../tracing/message-trace.js';

type WithOutbox = Document & { _id: string; outbox?: OutboxEntry[] };

/**
 * Publishes the outbox of a document and pulls what JetStream acknowledged. Publishing with
 * `Nats-Msg-Id` = event id makes a re-publish after a crash a duplicate that JetStream drops;
 * pulling by id (not by position) never removes an entry appended meanwhile. Once published,
 * the markers of the writes that appended them go (store/outbox-markers.ts).
 */
export class OutboxPublisher {
  private readonly pulls: OutboxPulls;
  private readonly recent = new RecentlyPublished();

  constructor(
    private readonly collections: Collections,
    private readonly js: () => JetStreamClient | undefined,
    private readonly logger: Logger,
    /** Told when a publish was left to the sweeper, so it runs soon rather than at its slow pace. */
    private readonly onDeferred: () => void = () => {},
  ) {
    this.pulls = new OutboxPulls((err, collection) => {
      this.onDeferred();
      this.logger.warn({ err, collection }, 'published events not pulled from their outboxes; the sweeper publishes them again (JetStream drops the repeats)');
    });
  }

  /** Writes the pulls still waiting; at shutdown, after the last flush. */
  async settle(): Promise<void> {
    await this.pulls.settle();
  }

  /**
   * Publishes the pending events of one document, in order; returns how many were published.
   * `markers`: those of the writes that appended them, removed once all are published.
   */
  async flush<T extends WithOutbox>(collection: Collection<T>, id: string, known?: OutboxEntry[], markers: readonly MarkerRef[] = []): Promise<number> {
    const js = this.js();
    if (!js) throw new Error('NATS is not connected');
    // The writer knows what it just appended: no need to read it back.
    const all = known ?? ((await collection.findOne({ _id: id } as never, { projection: { outbox: 1 } })) as WithOutbox | null)?.outbox ?? [];
    const pending = all.filter((entry) => !this.recent.has(entry.id));
    if (pending.length > 0) failpoint('relay:before-publish');
    // Sent in order on one connection, so JetStream stores them in order; the acks are awaited together.
    const acks = await inPublishSpan(pending, () => Promise.allSettled(pending.map((entry) => js.publish(entry.subject, JSON.stringify(entry.event), publishOptions(entry)))));
    const published = pending.filter((_, k) => acks[k]!.status === 'fulfilled').map((entry) => entry.id);
    this.recent.add(published);
    if (published.length > 0) this.pulls.add(collection, id, published);
    const failure = acks.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failure) throw failure.reason;
    // Not awaited by the caller's job: a marker left behind only costs the sweep a look.
    if (markers.length > 0) void groupCommit(this.collections).unmarks.submitAll(markers).catch(() => this.onDeferred());
    return published.length;
  }

  /**
   * Publishes one event now, outside any outbox: for an outcome that must not wait for
   * MongoDB (a `failed` outcome while MongoDB is the thing that failed). Its durable copy
   * follows in a dead letter's outbox, with the same id, so the two publishes count as one.
   */
  async publishNow(entry: OutboxEntry): Promise<boolean> {
    const js = this.js();
    if (!js) return false;
    try {
      await inPublishSpan([entry], () => js.publish(entry.subject, JSON.stringify(entry.event), publishOptions(entry)));
      return true;
    } catch (err) {
      this.logger.warn({ err, eventId: entry.id }, 'event not published now; its dead letter will carry it');
      return false;
    }
  }

  /** Flushes, but a failure only logs: the state is committed and the sweeper publishes later. */
  async flushQuietly<T extends WithOutbox>(collection: Collection<T>, id: string, known?: OutboxEntry[], markers?: readonly MarkerRef[]): Promise<void> {
    try {
      await this.flush(collection, id, known, markers);
    } catch (err) {
      this.onDeferred();
      this.logger.warn({ err, collection: collection.collectionName, id }, 'outbox publish deferred to the sweeper');
    }
  }

  /**
   * Publishes every outbox left pending (after a crash, or while NATS was away), found by its
   * marker (outbox-sweep.ts). Only markers older than `graceMs` are taken: fresh ones are their
   * writer's to publish, and taking them too would publish them twice (harmless — same id — but
   * noisy for core subscribers).
   */
  async sweep(graceMs: number, page = 200): Promise<{ published: number; complete: boolean }> {
    return sweepMarked(this.collections, (collection, id, known, markers) => this.flush(collection, id, known, markers), graceMs, page);
  }

  /**
   * The same for a collection whose outboxes are not marked (dead letters: few, and written by
   * the intake too): a query for events older than the grace, which scans it on the test server.
   */
  async sweepUnmarked<T extends WithOutbox>(collection: Collection<T>, graceMs: number, batch = 100): Promise<{ published: number; complete: boolean }> {
    const cutoff = new Date(Date.now() - graceMs).toISOString();
    const ids = await collection
      .find({ 'outbox.event.time': { $lt: cutoff } } as never, { projection: { _id: 1 } })
      .limit(batch)
      .map((d) => (d as WithOutbox)._id)
      .toArray();
    let published = 0;
    for (const id of ids) published += await this.flush(collection, id);
    return { published, complete: ids.length < batch };
  }
}

/**
 * The `$pull`s of published events, gathered from every flush of the last few milliseconds and
 * written as one bulkWrite per collection: one write for many jobs instead of one each. A pull
 * lost to a crash only means a re-publish with the same id, which JetStream drops.
 */
class OutboxPulls {
  private pending = new Map<Collection<WithOutbox>, Map<string, string[]>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly onError: (err: unknown, collection: string) => void,
    private readonly delayMs = 5,
  ) {}

  add<T extends WithOutbox>(collection: Collection<T>, id: string, eventIds: string[]): void {
    const docs = this.pending.get(collection as never) ?? new Map<string, string[]>();
    this.pending.set(collection as never, docs);
    docs.set(id, [...(docs.get(id) ?? []), ...eventIds]);
    this.timer ??= setTimeout(() => this.writeNow(), this.delayMs);
  }

  async settle(): Promise<void> {
    if (this.timer) this.writeNow();
    await Promise.all(this.writing);
  }

  private writeNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    const write = Promise.all(
      [...batch].map(([collection, docs]) =>
        collection
          .bulkWrite(
            [...docs].map(([id, ids]) => ({ updateOne: { filter: { _id: id }, update: { $pull: { outbox: { id: { $in: ids } } } } } }) as never),
            { ordered: false },
          )
          .then(
            () => undefined,
            (err: unknown) => this.onError(err, collection.collectionName),
          ),
      ),
    ).then(() => undefined);
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }
}
