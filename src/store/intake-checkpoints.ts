import type { Collections, RequestDocument } from './documents.js';

/**
 * The intake's durable watermark per partition (documents.ts, IntakeCheckpointDocument). Redis
 * holds the cursor and the jobs, and may lose them (a restart without its files, a failover to a
 * replica that missed the last writes); the command stream keeps the commands for
 * OPENSIM_INBOUND_MAX_AGE_HOURS; this says from where to take them in again.
 */
export async function readCheckpoint(c: Collections, consumer: string): Promise<number | null> {
  return (await c.intakeCheckpoints.findOne({ _id: consumer }))?.seq ?? null;
}

/** Moves the watermark forward, never back (two holders in a handover may both advance it); written the first time a command of the partition is decided. */
export async function advanceCheckpoint(c: Collections, consumer: string, seq: number, now: string): Promise<void> {
  await c.intakeCheckpoints.updateOne({ _id: consumer }, { $max: { seq }, $set: { at: now } }, { upsert: true });
}

/** A command taken in, as the checkpoint needs it: its stream sequence and its decision record's key (null: its outcome was recorded before the cursor passed it). */
export interface TakenCommand {
  seq: number;
  record: string | null;
}

/**
 * How many of `taken` (in stream order) have their outcome recorded, counted from the first: the
 * checkpoint may pass them. A `failed` record is the outcome of the message that failed only
 * (`seq`): the same request sent again (upstream's resend, `opensim dlq retry`) is a new command.
 */
export async function decidedPrefix(c: Collections, taken: readonly TakenCommand[]): Promise<number> {
  const keys = [...new Set(taken.flatMap((t) => (t.record ? [t.record] : [])))];
  const records = keys.length === 0 ? [] : await c.requests.find({ _id: { $in: keys } }, { projection: { _id: 1, outcome: 1, seq: 1 } }).toArray();
  const found = new Map(records.map((r) => [r._id, r as Pick<RequestDocument, '_id' | 'outcome' | 'seq'>]));
  let n = 0;
  for (const t of taken) {
    if (t.record !== null) {
      const record = found.get(t.record);
      if (!record || (record.outcome === 'failed' && record.seq != null && record.seq !== t.seq)) break;
    }
    n++;
  }
  return n;
}
