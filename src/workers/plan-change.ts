import { changePlan, eventKeys, type DomainEvent, type Instant } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { OutboxPublisher } from '../relay/outbox.js';
import { requestKey, type Collections } from '../store/documents.js';
import { commitAppliedChange, findDecision, loadPlanChange, recordDecision, syncResources, type References } from '../store/plan-change-store.js';
import { archiveMonth } from '../store/month-archive.js';
import { failpoint } from './failpoints.js';

export interface WorkerDeps {
  collections: Collections;
  references: References;
  outbox: OutboxPublisher;
  prefix: string;
}

/** What one job came to; a rejection carries its reason code (counted in /metrics). */
export type Outcome = { outcome: 'applied' | 'duplicate' } | { outcome: 'rejected'; reason: string };

/**
 * One plan-change request: load, decide, write once, publish. Safe to run again at any point
 * (crash, redelivery, retry): the request id is checked against the durable record and the
 * line's own list before anything is written.
 */
export async function processPlanChange(deps: WorkerDeps, request: PlanChangeRequest, now: Instant): Promise<Outcome> {
  const { collections: c, outbox } = deps;
  // Both at once: a duplicate is rare, and the load costs no more than waiting for the answer.
  const [decided, { state, lineDoc }] = await Promise.all([findDecision(c, request.requestId), loadPlanChange(c, deps.references, request)]);
  if (decided) {
    // Decided before: nothing changes. Its events may still wait in an outbox after a crash.
    await outbox.flushQuietly(c.requests, decided._id);
    if (decided.lineId) await outbox.flushQuietly(c.lines, decided.lineId);
    return { outcome: 'duplicate' };
  }

  const result = changePlan(request, state, now);
  switch (result.outcome) {
    case 'duplicate': {
      // The line holds the request: a crash came after the commit point. Finish what followed it.
      const line = lineDoc!.line;
      await syncResources(c, line);
      await recordApplied(c, request, line.lineId, now);
      await outbox.flushQuietly(c.lines, line.lineId);
      return { outcome: 'duplicate' };
    }
    case 'applied': {
      failpoint('plan-change:before-line-write', request.requestId);
      const pending = entries(deps.prefix, result.events, now);
      // A change in a month not rolled over yet leaves the previous month: keep its record first.
      if (lineDoc!.month && lineDoc!.month.month !== result.month.month) await archiveMonth(c, lineDoc!, lineDoc!.month);
      await commitAppliedChange(c, lineDoc!, { requestId: request.requestId, line: result.line, month: result.month, outbox: pending });
      failpoint('plan-change:after-line-write', request.requestId);
      // The write was guarded by the version read, so the outbox is what was read plus what
      // was appended: published in that order without reading it back. The three steps after
      // the commit point are independent, and a retry finishes any of them (the 'duplicate' case).
      await Promise.all([
        syncResources(c, result.line),
        recordApplied(c, request, result.line.lineId, now),
        outbox.flushQuietly(c.lines, result.line.lineId, [...(lineDoc!.outbox ?? []), ...pending]),
      ]);
      return { outcome: 'applied' };
    }
    case 'rejected': {
      const pending = entries(deps.prefix, result.events, now);
      await recordDecision(c, { requestId: request.requestId, clientAccountId: request.clientAccountId, lineId: state.line?.lineId ?? null, outcome: 'rejected', reason: result.reason, eventId: eventKeys.planChange(request.requestId, 'rejected'), decidedAt: now, outbox: pending });
      await outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId), pending);
      return { outcome: 'rejected', reason: result.reason };
    }
    default: {
      const unknown: never = result;
      throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

/** The decision record of an applied change: its events travel in the line's outbox, not here. */
function recordApplied(c: Collections, request: PlanChangeRequest, lineId: string, now: Instant): Promise<void> {
  return recordDecision(c, { requestId: request.requestId, clientAccountId: request.clientAccountId, lineId, outcome: 'applied', reason: null, eventId: eventKeys.planChange(request.requestId, 'applied'), decidedAt: now, outbox: [] });
}

export function entries(prefix: string, events: DomainEvent[], now: Instant) {
  return events.map((event) => toOutboxEntry(prefix, event, now));
}
