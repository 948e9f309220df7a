import type { Collections, ScheduledMarker } from './documents.js';

/**
 * The markers of scheduled changes (documents.ts, ScheduledMarker): how the sweep finds the
 * changes that fell due without scanning every line, and how a cancel finds its request's line.
 * Written before the line commits the schedule (a marker without a schedule is removed by the
 * first look), removed after the line commits what became of it.
 */
export async function markScheduled(c: Collections, marker: ScheduledMarker): Promise<void> {
  await c.scheduledChanges.updateOne({ _id: marker._id }, { $set: marker }, { upsert: true });
}

export async function unmarkScheduled(c: Collections, requestId: string): Promise<void> {
  await c.scheduledChanges.deleteOne({ _id: requestId });
}

/** The markers due at `now`, oldest first, at most `limit`. */
export async function dueMarkers(c: Collections, now: string, limit: number): Promise<ScheduledMarker[]> {
  return c.scheduledChanges.find({ effectiveAt: { $lte: now } }).sort({ effectiveAt: 1 }).limit(limit).toArray();
}
