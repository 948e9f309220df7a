import { MongoBulkWriteError, type AnyBulkWriteOperation } from 'mongodb';
import type { LineMonth, Month } from '../domain/index.js';
import type { Collections, DeadLetterDocument, LineDocument, OutboxEntry } from './documents.js';
import { writeLines, type LineWrite } from './line-writes.js';
import { insertOnce } from './insert-once.js';
import { outboxMarker, refOf, type MarkerRef } from './outbox-markers.js';
import { groupCommit } from './group-commit.js';
import { lineMonthKey, type LineMonthDocument, type UsageClaimDocument, type UsageCommit } from './monitoring-documents.js';

/**
 * MongoDB side of usage counting (the protocol is in src/usage/usage-writer.ts). No
 * transaction anywhere: each step is one atomic write, and every step is safe to repeat.
 */

const DUPLICATE_KEY = 11000;

export interface ClaimRequest {
  usageId: string;
  seq: number;
  lineId: string;
  month: Month;
}

/** Inserts the claims of a batch attempt; returns the existing claims of the usage ids someone (maybe an earlier attempt) claimed before. */
export async function insertClaims(c: Collections, attempt: string, claims: readonly ClaimRequest[], now: string): Promise<UsageClaimDocument[]> {
  if (claims.length === 0) return [];
  const docs: UsageClaimDocument[] = claims.map((claim) => ({ _id: claim.usageId, seq: claim.seq, attempt, lineId: claim.lineId, month: claim.month, claimedAt: now }));
  let taken: string[] = [];
  try {
    await c.usage.insertMany(docs, { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
    taken = errors.map((e) => docs[e.index]!._id);
  }
  return taken.length === 0 ? [] : c.usage.find({ _id: { $in: taken } }).toArray();
}

/**
 * The usage ids among `ids` already counted or refused: what an overlapping attempt may have
 * done meanwhile. Counted means marked `applied`, or inserted by an attempt that is settled.
 */
export async function settledClaims(c: Collections, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const claims = await c.usage.find({ _id: { $in: [...ids] } }, { projection: { attempt: 1, applied: 1, rejected: 1 } }).toArray();
  const attempts = [...new Set(claims.filter((claim) => !claim.applied && claim.rejected === undefined).map((claim) => claim.attempt))];
  const settled = new Set((await c.usageAttempts.find({ _id: { $in: attempts } }, { projection: { _id: 1 } }).toArray()).map((a) => a._id));
  return new Set(claims.filter((claim) => claim.applied || claim.rejected !== undefined || settled.has(claim.attempt)).map((claim) => claim._id));
}

/**
 * Settles a batch attempt once all its commits are written: one document says every claim it
 * inserted is counted (or refused). Claims it counted that another attempt inserted, and claims
 * found counted in a pending entry, are marked one by one. Refused claims say why. Idempotent.
 */
export async function settleAttempt(c: Collections, attempt: { id: string; counted: number; at: string }, alsoApplied: Iterable<string>, rejected: ReadonlyMap<string, string>): Promise<void> {
  const ops: AnyBulkWriteOperation<UsageClaimDocument>[] = [];
  for (const id of alsoApplied) ops.push({ updateOne: { filter: { _id: id }, update: { $set: { applied: true } } } });
  for (const [id, reason] of rejected) ops.push({ updateOne: { filter: { _id: id }, update: { $set: { rejected: reason } } } });
  if (ops.length > 0) await c.usage.bulkWrite(ops, { ordered: false });
  await insertOnce(c.usageAttempts, { _id: attempt.id, settledAt: attempt.at, counted: attempt.counted });
}

export type UsageLine = Pick<LineDocument, '_id' | 'version' | 'clientAccountId' | 'serviceRef' | 'line' | 'month' | 'usagePending' | 'usageNotice' | 'outbox'>;

export async function loadUsageLines(c: Collections, lineIds: readonly string[]): Promise<Map<string, UsageLine>> {
  const docs = await c.lines
    .find({ _id: { $in: [...lineIds] } }, { projection: { version: 1, clientAccountId: 1, serviceRef: 1, line: 1, month: 1, usagePending: 1, usageNotice: 1, outbox: 1 } })
    .toArray();
  return new Map(docs.map((doc) => [doc._id, doc as UsageLine]));
}

export async function loadArchivedMonths(c: Collections, keys: readonly string[]): Promise<Map<string, LineMonthDocument>> {
  if (keys.length === 0) return new Map();
  const docs = await c.lineMonths.find({ _id: { $in: [...keys] } }).toArray();
  return new Map(docs.map((doc) => [doc._id, doc]));
}

/** A line written, with its whole pending outbox and the markers to remove once it is published. */
export type CommittedLine = Pick<LineDocument, '_id' | 'outbox'> & { markers: MarkerRef[] };

/** One line's usage commit: the new month record and notice, the usage ids counted, the events. */
export interface LineUsageCommit {
  lineId: string;
  version: number;
  /** The line as read with `version` (line-writes.ts). */
  asRead: LineWrite['asRead'];
  month: LineMonth;
  usageNotice: LineDocument['usageNotice'];
  pending: UsageCommit;
  outbox: OutboxEntry[];
}

/**
 * The commit point of a usage batch on each line: the line's one guarded write (line-writes.ts)
 * per line, with no outbox marker. A line written meanwhile by someone else (a plan change,
 * another batch) is not committed (`lost`) and is decided again. Returns the committed lines
 * with their whole pending outbox.
 */
export async function commitLineUsage(c: Collections, commits: readonly LineUsageCommit[], now: string): Promise<{ committed: CommittedLine[]; lost: string[] }> {
  const results = await writeLines(
    c,
    commits.map((commit) => ({ lineId: commit.lineId, version: commit.version, asRead: commit.asRead, set: { month: commit.month, usageNotice: commit.usageNotice }, push: { usagePending: commit.pending }, outbox: commit.outbox })),
    now,
    // The batch's messages, unacknowledged, and the commit's `usagePending` entry mark it until published (usage-writer.ts).
    { markOutbox: false },
  );
  return {
    committed: results.flatMap((r) => (r.status === 'committed' ? [{ _id: r.lineId, outbox: r.outbox, markers: r.markers }] : [])),
    lost: results.filter((r) => r.status !== 'committed').map((r) => r.lineId),
  };
}

/** An archived month's usage commit: guarded by the archive's own version (or its creation). */
export interface ArchiveUsageCommit {
  key: string;
  lineId: string;
  clientAccountId: string;
  /** `null`: the archive does not exist yet and is created by this commit. */
  version: number | null;
  record: LineMonth;
  pending: UsageCommit;
  outbox: OutboxEntry[];
}

/** Returns whether this commit won, and the marker of its events (outbox-markers.ts) to remove once they are published. */
export async function commitArchiveUsage(c: Collections, commit: ArchiveUsageCommit): Promise<{ won: boolean; markers: MarkerRef[] }> {
  const marker = outboxMarker('lineMonths', commit.key, commit.outbox);
  if (marker) await groupCommit(c).marks.submit(marker);
  const won = await writeArchiveUsage(c, commit);
  if (!won && marker) await groupCommit(c).unmarks.submit({ _id: marker._id });
  return { won, markers: won ? refOf(marker) : [] };
}

async function writeArchiveUsage(c: Collections, commit: ArchiveUsageCommit): Promise<boolean> {
  if (commit.version === null) {
    try {
      await c.lineMonths.insertOne({
        _id: commit.key,
        lineId: commit.lineId,
        clientAccountId: commit.clientAccountId,
        month: commit.record.month,
        version: 1,
        lineVersion: -1,
        record: commit.record,
        usagePending: [commit.pending],
        outbox: commit.outbox,
      });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
      throw err;
    }
  }
  const updated = await c.lineMonths.findOneAndUpdate(
    { _id: commit.key, version: commit.version },
    { $set: { record: commit.record }, $inc: { version: 1 }, $push: { usagePending: commit.pending, outbox: { $each: commit.outbox } } },
    { projection: { _id: 1 } },
  );
  return updated !== null;
}

/** Refused usage records: one dead letter per message (by stream sequence), no event (CONTRACT.md defines none). */
export async function insertUsageDeadLetters(c: Collections, letters: readonly DeadLetterDocument[]): Promise<void> {
  if (letters.length === 0) return;
  try {
    await c.deadLetters.insertMany([...letters], { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  }
}

export { lineMonthKey };
