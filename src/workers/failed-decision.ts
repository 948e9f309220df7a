import { requestKey, type LineDecision } from '../store/documents.js';
import { commitOnLine, findDecision, recordDecision } from '../store/plan-change-store.js';
import type { CommandJob } from '../queues/command-queues.js';
import { failedOutcome } from '../outbox/failed-outcome.js';
import { rereadWhileLost } from '../store/line-writes.js';
import { earlierDecision, type WorkerDeps } from './plan-change.js';

/** Why a job ended failed: its dead letter's reason and the `reason` of its failed outcome. */
export type JobFailureReason = 'RETRIES_EXHAUSTED' | 'TERMINAL_ERROR' | 'STALLED_TOO_OFTEN';

export interface JobFailure {
  reason: JobFailureReason;
  attempts: number;
  lastError: string;
}

/** `failed`: the request's outcome is this failure (now or before). `decided`: it was applied or rejected after all. */
export interface FailedVerdict {
  verdict: 'failed' | 'decided';
  /** This call committed the failure (count it once). */
  committedNow: boolean;
}

/**
 * Records that a command's job failed, as a decision: for a plan change, committed on its line
 * by the same guarded write as any decision, with the `failed` event in the line's outbox. So a
 * worker that stalled past its job lock and wakes up later cannot apply the request after its
 * failure was announced: its write is guarded by an older version, it reads again, and finds
 * the failure. Conversely a request that such a worker applied before the failure was recorded
 * is not failed: one outcome per request, whichever came first. Needs MongoDB: while it is
 * away, the failed job waits in BullMQ's failed set and the dead-letter collector records it
 * once MongoDB answers. A resource order's failure has no event (CONTRACT.md): its dead letter is all.
 */
export async function decideFailed(deps: WorkerDeps, command: CommandJob, failure: JobFailure, now: string): Promise<FailedVerdict> {
  if (command.kind !== 'plan-change') return { verdict: 'failed', committedNow: false };
  const c = deps.collections;
  const { request, seq } = command;
  const event = failedOutcome(deps.prefix, command, failure, now)!;
  return rereadWhileLost(`failure of '${request.requestId}' on line '${request.lineId}'`, async (): Promise<FailedVerdict | 'lost'> => {
    const [lineDoc, recorded] = await Promise.all([c.lines.findOne({ _id: request.lineId }), findDecision(c, request.requestId)]);
    const earlier = earlierDecision({ lineDoc, recorded }, request.requestId, seq);
    if (earlier) {
      await deps.outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId));
      if (lineDoc) await deps.outbox.flushQuietly(c.lines, lineDoc._id);
      return { verdict: earlier.outcome === 'failed' ? 'failed' : 'decided', committedNow: false };
    }
    const decision: LineDecision = { requestId: request.requestId, clientAccountId: request.clientAccountId, outcome: 'failed', reason: failure.reason, eventId: event.id, decidedAt: now, ...(seq !== undefined ? { seq } : {}) };
    const base = { requestId: decision.requestId, clientAccountId: decision.clientAccountId, outcome: 'failed' as const, reason: failure.reason, eventId: event.id, decidedAt: now, ...(seq !== undefined ? { seq } : {}) };
    if (!lineDoc) {
      const markers = await recordDecision(c, { ...base, lineId: null, outbox: [event] });
      await deps.outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId), undefined, markers);
      return { verdict: 'failed', committedNow: true };
    }
    const committed = await commitOnLine(c, lineDoc, { decision, outbox: [event], now });
    if (committed.status !== 'committed') return 'lost';
    await recordDecision(c, { ...base, lineId: lineDoc._id, outbox: [] });
    await deps.outbox.flushQuietly(c.lines, lineDoc._id, committed.outbox, committed.markers);
    return { verdict: 'failed', committedNow: true };
  });
}
