import { changePlan, type ChangePlanResult, type DomainEvent, type Instant } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { OutboxPublisher } from '../outbox/outbox.js';
import { requestKey, type Collections, type LineDecision, type LineDocument, type RequestDocument, type ScheduledMarker } from '../store/documents.js';
import { markScheduled } from '../store/scheduled-markers.js';
import { commitOnLine, decisionAbout, decisionOnLine, loadPlanChange, projectResources, recordDecision, type LoadedPlanChange, type References } from '../store/plan-change-store.js';
import { archiveMonth } from '../store/month-archive.js';
import { rereadWhileLost } from '../store/line-writes.js';
import { failpoint } from '../runtime/failpoints.js';

export interface WorkerDeps {
  collections: Collections;
  references: References;
  outbox: OutboxPublisher;
  prefix: string;
  /** Sets the trigger of a scheduled change at its `effectiveAt` (a delayed job); the sweep finds any trigger lost. */
  triggerDue?: (marker: ScheduledMarker) => Promise<void>;
}

/** What one job came to; a rejection carries its reason code (counted in /metrics). */
export type Outcome = { outcome: 'applied' | 'duplicate' | 'scheduled' | 'cancelled' } | { outcome: 'rejected'; reason: string };

/**
 * One plan-change request: load, decide (pure), commit once on the line, then the follow-ups
 * (resource documents, decision record, publish). Safe to run again at any point (crash,
 * redelivery, retry, a second worker after a lost job lock): the decision is committed by the
 * line's version-guarded write, so only a decision made on the line as it is can land; a lost
 * guard reads again and decides again, spending no retry attempt. `seq` is the stream sequence
 * of the message that carried the request.
 */
export async function processPlanChange(deps: WorkerDeps, request: PlanChangeRequest, now: Instant, seq?: number): Promise<Outcome> {
  const c = deps.collections;
  return rereadWhileLost(`plan change '${request.requestId}' on line '${request.lineId}'`, async (): Promise<Outcome | 'lost'> => {
    const loaded = await loadPlanChange(c, deps.references, request);
    const earlier = earlierDecision(loaded, request.requestId, seq);
    if (earlier) {
      // Decided before: nothing changes. What followed it may not have happened (a crash, a stall): finish it.
      await finishDecided(deps, loaded.lineDoc, request, earlier);
      return { outcome: 'duplicate' };
    }
    const result = changePlan(request, loaded.state, now);
    if (result.outcome === 'duplicate') {
      await finishDecided(deps, loaded.lineDoc, request, decisionOnLine(loaded.lineDoc, request.requestId)!);
      return { outcome: 'duplicate' };
    }
    const lineDoc = loaded.lineDoc;
    if (result.outcome === 'scheduled') return schedule(deps, lineDoc!, request, result, now);
    const pending = entries(deps.prefix, result.events, now);
    const decision = decisionAbout(request, result.outcome, result.outcome === 'rejected' ? result.reason : null, now);
    if (!lineDoc) {
      // No line to commit on (UNKNOWN_LINE): the decision record is the commit point.
      const markers = await recordDecision(c, { ...record(decision, null), outbox: pending });
      await deps.outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId), undefined, markers);
      return { outcome: 'rejected', reason: decision.reason! };
    }
    if (result.outcome === 'applied') {
      failpoint('plan-change:before-line-write', request.requestId);
      // A change in a month not rolled over yet leaves the previous month: keep its record first.
      if (lineDoc.month && lineDoc.month.month !== result.month.month) await archiveMonth(c, lineDoc, lineDoc.month);
    }
    const committed = await commitOnLine(c, lineDoc, { decision, change: result.outcome === 'applied' ? { line: result.line, month: result.month } : undefined, outbox: pending, now });
    // Written meanwhile, or the target taken by another line: decide again on what is there now.
    if (committed.status !== 'committed') return 'lost';
    if (result.outcome === 'applied') failpoint('plan-change:after-line-write', request.requestId);
    // The write was guarded by the version read, so the outbox is what was read plus what was
    // appended: published in that order without reading it back. The steps after the commit
    // point are independent, and a retry finishes any of them (finishDecided).
    await Promise.all([
      result.outcome === 'applied' ? projectResources(c, [lineDoc.line.activeResourceId, result.line.activeResourceId]) : undefined,
      recordDecision(c, { ...record(decision, lineDoc._id), outbox: [] }),
      deps.outbox.flushQuietly(c.lines, lineDoc._id, committed.outbox, committed.markers),
    ]);
    return result.outcome === 'applied' ? { outcome: 'applied' } : { outcome: 'rejected', reason: result.reason };
  });
}

/**
 * An earlier decision about this request, on the line or in the record. A failure ends only the
 * job of the message that failed (`seq`): another message with the same request id is a new
 * decision, the failed job run again by a worker that stalled is not.
 */
/**
 * A change valid now and effective later: committed on the line (its `scheduledChange`, the
 * target among what it holds, so no other line can take it), then the trigger at `effectiveAt`.
 * The marker that lets the sweep find it is written first: a marker with no schedule behind it
 * is removed at the first look, a schedule with no marker could be missed.
 */
async function schedule(deps: WorkerDeps, lineDoc: LineDocument, request: PlanChangeRequest, result: Extract<ChangePlanResult, { outcome: 'scheduled' }>, now: Instant): Promise<Outcome | 'lost'> {
  const c = deps.collections;
  const scheduled = result.line.scheduledChange!;
  const marker: ScheduledMarker = { _id: request.requestId, lineId: lineDoc._id, clientAccountId: request.clientAccountId, effectiveAt: scheduled.effectiveAt };
  await markScheduled(c, marker);
  const decision = decisionAbout(request, 'scheduled', null, now);
  const committed = await commitOnLine(c, lineDoc, { decision, change: { line: result.line }, outbox: entries(deps.prefix, result.events, now), now });
  if (committed.status !== 'committed') return 'lost';
  await Promise.all([
    projectResources(c, [scheduled.to.resourceId]),
    recordDecision(c, { ...record(decision, lineDoc._id), effectiveAt: scheduled.effectiveAt, outbox: [] }),
    deps.outbox.flushQuietly(c.lines, lineDoc._id, committed.outbox, committed.markers),
  ]);
  await deps.triggerDue?.(marker);
  return { outcome: 'scheduled' };
}

export function earlierDecision(loaded: Pick<LoadedPlanChange, 'lineDoc' | 'recorded'>, requestId: string, seq: number | undefined): LineDecision | null {
  const onLine = decisionOnLine(loaded.lineDoc, requestId);
  const recorded = loaded.recorded;
  const found = onLine ?? (recorded ? { requestId, clientAccountId: recorded.clientAccountId, outcome: recorded.outcome, reason: recorded.reason, eventId: recorded.eventId, decidedAt: recorded.decidedAt, seq: recorded.seq } : null);
  if (!found) return null;
  if (found.outcome === 'failed' && found.seq !== seq) return null;
  return found;
}

/** The follow-ups of a decision committed before: resource documents, decision record, events. */
async function finishDecided(deps: WorkerDeps, lineDoc: LineDocument | null, request: PlanChangeRequest, decision: LineDecision): Promise<void> {
  const c = deps.collections;
  await deps.outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId));
  if (!lineDoc) return;
  if (decision.outcome === 'applied') {
    const history = lineDoc.line.planHistory;
    const at = history.findIndex((h) => h.requestId === request.requestId);
    await projectResources(c, at > 0 ? [history[at - 1]!.resourceId, history[at]!.resourceId] : [lineDoc.line.activeResourceId]);
  }
  // Lines decided on before `decisions` existed carry no event id: their record was written then.
  if (decision.eventId) await recordDecision(c, { ...record(decision, lineDoc._id), outbox: [] });
  await deps.outbox.flushQuietly(c.lines, lineDoc._id);
}

function record(decision: LineDecision, lineId: string | null): Omit<RequestDocument, '_id' | 'kind' | 'outbox'> & { requestId: string } {
  const { requestId, clientAccountId, outcome, reason, eventId, decidedAt, seq } = decision;
  return { requestId, clientAccountId, lineId, outcome, reason, eventId, decidedAt, ...(seq !== undefined ? { seq } : {}) };
}

export function entries(prefix: string, events: DomainEvent[], now: Instant) {
  return events.map((event) => toOutboxEntry(prefix, event, now));
}
