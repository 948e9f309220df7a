import type { Document } from 'mongodb';
import type { Collections, LineDocument, OutboxEntry } from './documents.js';
import { findOneAndUpdateEach } from './guarded-updates.js';

/**
 * The one write path of a line. Every writer — plan changes, their failures, usage, the month
 * rollover, held-back notices, threshold enforcement — changes a line with one update guarded by
 * the version its decision was made on (the fencing token: a writer that decided on a line that
 * has changed since cannot write), bumping the version, stamping `updatedAt`, and appending the
 * events the change causes to the line's outbox (published after, see relay/outbox.ts).
 */
export interface LineWrite {
  lineId: string;
  /** The version the decision was made on. */
  version: number;
  /** Fields set (dotted paths allowed). */
  set: Document;
  /** Arrays appended to, besides the outbox: `{ field: { $each: [...], $slice?: n } }`. */
  push?: Document;
  outbox: OutboxEntry[];
}

export type LineWriteResult =
  /** `outbox`: the line's whole pending outbox after the write (what was there plus what was appended). */
  | { status: 'committed'; lineId: string; outbox: OutboxEntry[] }
  /** The line changed since its version was read: decide again on what is there. */
  | { status: 'lost'; lineId: string }
  /** MongoDB's unique index on `holds` refused it: another line holds a resource this write takes. */
  | { status: 'held'; lineId: string };

/** Writes lines, a few at a time; each write's own result, in order. */
export async function writeLines(c: Collections, writes: readonly LineWrite[], now: string): Promise<LineWriteResult[]> {
  const after = await findOneAndUpdateEach(
    c.lines,
    writes.map((w) => ({
      filter: { _id: w.lineId, version: w.version },
      update: { $set: { ...w.set, updatedAt: now }, $inc: { version: 1 }, $push: { ...(w.push ?? {}), outbox: { $each: w.outbox } } },
    })),
    { projection: { outbox: 1 } },
    (err) => isHoldsConflict(err),
  );
  return writes.map((w, k) => {
    const doc = after[k];
    if (doc === 'refused') return { status: 'held', lineId: w.lineId };
    if (!doc) return { status: 'lost', lineId: w.lineId };
    return { status: 'committed', lineId: w.lineId, outbox: (doc as Pick<LineDocument, 'outbox'>).outbox ?? [] };
  });
}

export async function writeLine(c: Collections, write: LineWrite, now: string): Promise<LineWriteResult> {
  return (await writeLines(c, [write], now))[0]!;
}

function isHoldsConflict(err: unknown): boolean {
  return (err as { code?: number }).code === 11000 && /holds/.test(String((err as Error).message));
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
