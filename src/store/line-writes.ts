import type { Document } from 'mongodb';
import type { Collections, OutboxEntry } from './documents.js';
import { groupCommit } from './group-commit.js';
import type { GuardedOp } from './guarded-bulk.js';
import { outboxMarker, refOf, type MarkerRef, type OutboxMarker } from './outbox-markers.js';
import { markNotices, settleNoticeMarkers } from './notice-markers.js';

/**
 * The one write path of a line. Every writer — plan changes, their failures, usage, the month
 * rollover, held-back notices, threshold enforcement — changes a line with one update guarded by
 * the version its decision was made on (the fencing token: a writer that decided on a line that
 * has changed since cannot write), bumping the version, stamping `updatedAt`, and appending the
 * events the change causes to the line's outbox (published after, see outbox/outbox.ts).
 *
 * The writes of every caller of the process that write at the same time go in one `bulkWrite`
 * (group-commit.ts), each with its own outcome (guarded-bulk.ts: a guard that no longer matches
 * is that operation's duplicate key on `_id`; lines are never deleted).
 */
export interface LineWrite {
  lineId: string;
  /** The version the decision was made on. */
  version: number;
  /**
   * The line as read with `version`. The guard proves it unchanged when the write lands, so the
   * outbox after the write is this plus what is appended (no read-back); pulls of published
   * events bump no version, so this may still hold some already published (JetStream drops a
   * re-publish by id). `noticeDueAt`: when its held-back `usage.updated` was due, for writes
   * that set `usageNotice`.
   */
  asRead: { outbox: OutboxEntry[]; noticeDueAt?: string | null };
  /** Fields set (dotted paths allowed). */
  set: Document;
  /** Arrays appended to, besides the outbox: `{ field: { $each: [...], $slice?: n } }`. */
  push?: Document;
  outbox: OutboxEntry[];
}

export type LineWriteResult =
  /** `outbox`: the line's whole pending outbox after the write; `markers`: what to remove once it is published. */
  | { status: 'committed'; lineId: string; outbox: OutboxEntry[]; markers: MarkerRef[] }
  /** The line changed since its version was read: decide again on what is there. */
  | { status: 'lost'; lineId: string }
  /** MongoDB's unique index on `holds` refused it: another line holds a resource this write takes. */
  | { status: 'held'; lineId: string };

export interface WriteLinesOptions {
  /**
   * `false`: no outbox marker. Only for a caller that keeps a durable trace of its writes of its
   * own until their events are published, and marks what it fails to publish
   * (publish-outboxes.ts, `markFailed`): a usage batch, whose messages stay unacknowledged and
   * whose `usagePending` entry stays on the line until then (usage-writer.ts). Two marker writes
   * fewer per line and batch.
   */
  markOutbox?: boolean;
}

/**
 * Writes lines; each write's own result, in order. First the markers that let sweeps find what
 * the writes leave pending (an outbox to publish, a notice held back), then the guarded writes,
 * then the markers of writes that lost are removed (and those of notices settled).
 */
export async function writeLines(c: Collections, writes: readonly LineWrite[], now: string, options: WriteLinesOptions = {}): Promise<LineWriteResult[]> {
  const gc = groupCommit(c);
  const markers = writes.map((w) => (options.markOutbox === false ? null : outboxMarker('lines', w.lineId, w.outbox)));
  const notices = writes.map(noticeChange);
  const [, noticeMarks] = await Promise.all([gc.marks.submitAll(markers.filter((m): m is OutboxMarker => m !== null)), markNotices(c, notices.flatMap((n, k) => (n ? [{ lineId: writes[k]!.lineId, dueAt: n.mark }] : [])))]);
  const outcomes = await Promise.allSettled(writes.map((w) => gc.lineWrites.submit(guarded(w, now))));

  const results: LineWriteResult[] = [];
  const unmark: MarkerRef[] = [];
  const settle: { marker: { _id: string; token: string }; dueAt: string | null }[] = [];
  let marked = 0;
  let failure: unknown;
  writes.forEach((w, k) => {
    const outcome = outcomes[k]!;
    const notice = notices[k] ? noticeMarks[marked++]! : null;
    if (outcome.status === 'rejected') {
      failure ??= outcome.reason;
      unmark.push(...refOf(markers[k]!));
      return;
    }
    const { value } = outcome;
    if (value.status === 'won') {
      results.push({ status: 'committed', lineId: w.lineId, outbox: [...w.asRead.outbox, ...w.outbox], markers: refOf(markers[k]!) });
      if (notice) settle.push({ marker: notice, dueAt: notices[k]!.after });
      return;
    }
    unmark.push(...refOf(markers[k]!));
    if (value.status === 'lost') results.push({ status: 'lost', lineId: w.lineId });
    else if (/holds/.test(value.index)) results.push({ status: 'held', lineId: w.lineId });
    else failure ??= new Error(`line '${w.lineId}': refused by the unique index ${value.index}`);
  });
  // Tidying only: a marker left behind costs the sweep a look (and a fencing write), never an event or a notice.
  await Promise.allSettled([gc.unmarks.submitAll(unmark), settleNoticeMarkers(c, settle)]);
  if (failure !== undefined) throw failure;
  return results;
}

export async function writeLine(c: Collections, write: LineWrite, now: string): Promise<LineWriteResult> {
  return (await writeLines(c, [write], now))[0]!;
}

function guarded(w: LineWrite, now: string): GuardedOp {
  return {
    filter: { _id: w.lineId, version: w.version },
    update: { $set: { ...w.set, updatedAt: now }, $inc: { version: 1 }, $push: { ...(w.push ?? {}), outbox: { $each: w.outbox } } as Document },
  };
}

/**
 * A write that sets `usageNotice` and holds a notice back before or after: its marker is written
 * first (`$min`, so never later than the notice), then, once the write has landed, set to exactly
 * the notice it left (or removed when it left none) — only while the marker still carries the
 * token this write gave it.
 */
function noticeChange(w: LineWrite): { mark: string; after: string | null } | null {
  if (!('usageNotice' in w.set)) return null;
  const after = (w.set.usageNotice as { dueAt?: string | null } | null)?.dueAt ?? null;
  const before = w.asRead.noticeDueAt ?? null;
  const mark = after ?? before;
  return mark === null ? null : { mark, after };
}

/** Rounds of re-reading a line written meanwhile by someone else, before giving up for now. */
export const REREAD_ROUNDS = 20;

/** A line kept being written by others for every round: transient, the caller's retry decides when to try again. */
export class LineKeptChangingError extends Error {
  override readonly name = 'LineKeptChangingError';
}

/**
 * The one policy for a lost guard: read again at once and decide again, at most
 * REREAD_ROUNDS times, spending no retry attempt (a retry's backoff is for a server that is
 * away, not for a line that moved on). `round` returns what it decided, or `'lost'` to go again.
 */
export async function rereadWhileLost<T>(what: string, round: (n: number) => Promise<T | 'lost'>): Promise<T> {
  for (let n = 1; n <= REREAD_ROUNDS; n++) {
    const result = await round(n);
    if (result !== 'lost') return result;
  }
  throw new LineKeptChangingError(`${what}: written by others for ${REREAD_ROUNDS} rounds in a row`);
}
