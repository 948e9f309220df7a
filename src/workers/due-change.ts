import { applyScheduledChange, scheduledRequestOf, type Instant } from '../domain/index.js';
import { rereadWhileLost } from '../store/line-writes.js';
import { archiveMonth } from '../store/month-archive.js';
import { commitOnLine, decisionAbout, loadPlanChange, projectResources, recordDecision } from '../store/plan-change-store.js';
import { unmarkScheduled } from '../store/scheduled-markers.js';
import { entries, type WorkerDeps } from './plan-change.js';

/** A scheduled change that may be due: the line and the request it was made of. */
export interface DueChange {
  lineId: string;
  requestId: string;
}

export type DueOutcome = { outcome: 'applied' | 'not-scheduled' } | { outcome: 'rejected'; reason: string } | { outcome: 'not-due'; effectiveAt: Instant };

/**
 * A scheduled change at (or after) its `effectiveAt`: the rules checked again on the line as it
 * is now, then applied exactly as an immediate change at `now` (late if every process was
 * down), or rejected and its reservation released (`applyScheduledChange`). Committed by the
 * line's guarded write — the same write a cancel goes through, so exactly one of them wins —
 * then the resources, the decision record and the events follow. Safe to run again: a change
 * no longer pending on the line (applied, rejected or cancelled meanwhile) changes nothing.
 */
export async function processDueChange(deps: WorkerDeps, due: DueChange, now: Instant): Promise<DueOutcome> {
  const c = deps.collections;
  return rereadWhileLost(`scheduled change '${due.requestId}' of line '${due.lineId}'`, async (): Promise<DueOutcome | 'lost'> => {
    const current = await c.lines.findOne({ _id: due.lineId }, { projection: { line: 1 } });
    const request = current ? scheduledRequestOf(current.line) : null;
    if (!request || request.requestId !== due.requestId) {
      await unmarkScheduled(c, due.requestId);
      return { outcome: 'not-scheduled' };
    }
    const effectiveAt = current!.line.scheduledChange!.effectiveAt;
    const loaded = await loadPlanChange(c, deps.references, request);
    const lineDoc = loaded.lineDoc!;
    const result = applyScheduledChange(due, loaded.state, now);
    if (result.outcome === 'not-scheduled') {
      await unmarkScheduled(c, due.requestId);
      return result;
    }
    if (result.outcome === 'not-due') return result;
    const decision = decisionAbout(request, result.outcome, result.outcome === 'rejected' ? result.reason : null, now);
    // A change in a month not rolled over yet leaves the previous month: keep its record first.
    if (result.outcome === 'applied' && lineDoc.month && lineDoc.month.month !== result.month.month) await archiveMonth(c, lineDoc, lineDoc.month);
    const pending = entries(deps.prefix, result.events, now);
    const committed = await commitOnLine(c, lineDoc, { decision, change: { line: result.line, month: result.month }, outbox: pending, now, decidedBefore: true });
    if (committed.status !== 'committed') return 'lost';
    const { clientAccountId, outcome, reason, eventId, decidedAt } = decision;
    // The record says `applied` before the event does: a client that hears it and asks where the
    // request stands never reads the `scheduled` it replaces.
    await Promise.all([
      projectResources(c, [lineDoc.line.activeResourceId, request.targetResourceId]),
      recordDecision(c, { requestId: request.requestId, clientAccountId, lineId: lineDoc._id, outcome, reason, eventId, decidedAt, effectiveAt, outbox: [] }),
    ]);
    await deps.outbox.flushQuietly(c.lines, lineDoc._id, committed.outbox, committed.markers);
    await unmarkScheduled(c, due.requestId);
    return result.outcome === 'applied' ? { outcome: 'applied' } : { outcome: 'rejected', reason: result.reason };
  });
}
