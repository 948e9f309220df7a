import type { JetStreamClient } from 'nats';
import { coalesceUsageUpdated, rollMonth, type Instant, type LineMonth, type Month, type Product, type ProductCatalog } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { publishOutboxes, type DeferredEvents } from '../outbox/publish-outboxes.js';
import type { Collections, LineDocument, OutboxEntry } from '../store/documents.js';
import { rereadWhileLost, writeLines } from '../store/line-writes.js';
import { archiveMonths } from '../store/month-archive.js';
import type { References } from '../store/plan-change-store.js';
import { toRecord } from '../store/to-record.js';

export interface RolloverDeps {
  collections: Collections;
  references: References;
  js: () => JetStreamClient | undefined;
  prefix: string;
  /** Lines read, decided and written together; never more in memory. */
  batch: number;
  usageUpdatedIntervalMs: number;
  /** Told when events were left unpublished, so the relay sweeps soon. */
  onPublishDeferred?: (left: DeferredEvents) => void;
}

export interface RolloverProgress {
  month: Month;
  rolled: number;
  /** The last line of the last page written (lines are taken in `_id` order). */
  lastLineId: string | null;
}

const ROLLING = { version: 1, clientAccountId: 1, line: 1, month: 1, usageNotice: 1, outbox: 1 } as const;

type RollingLine = Pick<LineDocument, '_id' | 'version' | 'clientAccountId' | 'line' | 'month' | 'usageNotice' | 'outbox'>;

/**
 * Opens `month` on every line that has not opened it yet: archive the month it leaves, new
 * record (usage zero, envelope of the current plan, decided state normal), `envelope.recomputed`
 * cause month-start, the held-back `usage.updated` of the month that ends. Lines are streamed
 * with one cursor in `_id` order, `batch` at a time: 100,000 lines are never in memory. Each
 * line is one version-guarded update; a line written meanwhile (usage, a plan change) is read
 * and decided again. Idempotent: a second run finds no line left to roll, and a line rolled by
 * someone else meanwhile (usage of the new month opens it too) is left as it is.
 */
export async function rollLines(deps: RolloverDeps, month: Month, now: Instant, report: (progress: RolloverProgress) => Promise<void> = async () => {}): Promise<RolloverProgress> {
  const c = deps.collections;
  const progress: RolloverProgress = { month, rolled: 0, lastLineId: null };
  const cursor = c.lines
    .find({ $or: [{ month: null }, { 'month.month': { $lt: month } }] }, { projection: ROLLING })
    .sort({ _id: 1 })
    .batchSize(deps.batch);
  let page: RollingLine[] = [];
  try {
    for await (const doc of cursor) {
      page.push(doc as RollingLine);
      if (page.length < deps.batch) continue;
      progress.rolled += await rollPage(deps, page, month, now);
      progress.lastLineId = page.at(-1)!._id;
      page = [];
      await report(progress);
    }
    if (page.length > 0) {
      progress.rolled += await rollPage(deps, page, month, now);
      progress.lastLineId = page.at(-1)!._id;
      await report(progress);
    }
  } finally {
    await cursor.close();
  }
  return progress;
}

async function rollPage(deps: RolloverDeps, page: RollingLine[], month: Month, now: Instant): Promise<number> {
  const c = deps.collections;
  let todo = page;
  let rolled = 0;
  return rereadWhileLost(`rollover of ${page.length} lines to ${month}`, async () => {
    const products = await catalogOf(deps.references, todo);
    const writes: { line: RollingLine; record: LineMonth; notice: LineDocument['usageNotice']; outbox: OutboxEntry[] }[] = [];
    for (const line of todo) {
      const decided = rollMonth({ line: line.line, clientAccountId: line.clientAccountId, products, month: line.month }, month);
      if (decided.outcome === 'unchanged') continue;
      const closed = line.month ? [{ record: line.month, lastUsageId: null }] : [];
      const coalesced = coalesceUsageUpdated({ notice: line.usageNotice ?? null, current: { record: decided.month, lastUsageId: null }, closed, now, intervalMs: deps.usageUpdatedIntervalMs });
      writes.push({ line, record: decided.month, notice: coalesced.notice, outbox: [...coalesced.events, ...decided.events].map((e) => toOutboxEntry(deps.prefix, e, now)) });
    }
    if (writes.length === 0) return rolled;
    // The month each line leaves is kept before the write that leaves it.
    await archiveMonths(c, writes.filter((w) => w.line.month).map((w) => ({ from: w.line, record: w.line.month! })));
    const results = await writeLines(
      c,
      writes.map((w) => ({ lineId: w.line._id, version: w.line.version, asRead: { outbox: w.line.outbox ?? [], noticeDueAt: w.line.usageNotice?.dueAt ?? null }, set: { month: w.record, usageNotice: w.notice }, outbox: w.outbox })),
      now,
    );
    const done = results.flatMap((r) => (r.status === 'committed' ? [{ _id: r.lineId, outbox: r.outbox, markers: r.markers }] : []));
    rolled += done.length;
    await publishOutboxes(c, deps.js(), c.lines, done, { onDeferred: deps.onPublishDeferred });
    // Written meanwhile by someone else (usage, a plan change): read again and decide again (maybe rolled already).
    const lost = results.filter((r) => r.status !== 'committed').map((r) => r.lineId);
    if (lost.length === 0) return rolled;
    todo = (await c.lines.find({ _id: { $in: lost } }, { projection: ROLLING }).toArray()) as RollingLine[];
    return 'lost';
  });
}

async function catalogOf(references: References, lines: RollingLine[]): Promise<ProductCatalog> {
  const refs = [...new Set(lines.flatMap((line) => line.line.planHistory.map((h) => h.productRef)))];
  const products = await references.products.getMany(refs);
  return Object.fromEntries(products.map((p) => [p._id, toRecord(p) as Product]));
}
