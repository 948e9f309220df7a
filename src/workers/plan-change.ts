import { changePlan, eventKeys, type DomainEvent, type Instant } from '../domain/index.js';
import type { PlanChangeRequest } from '../contract/messages.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import type { OutboxPublisher } from '../relay/outbox.js';
import { requestKey, type Collections } from '../store/documents.js';
import { commitAppliedChange, findDecision, loadPlanChange, recordDecision, syncResources } from '../store/plan-change-store.js';
import { failpoint } from './failpoints.js';

export interface WorkerDeps {
  collections: Collections;
  outbox: OutboxPublisher;
  prefix: string;
}

export type Outcome = 'applied' | 'rejected' | 'duplicate';

/**
 * One plan-change request: load, decide, write once, publish. Safe to run again at any point
 * (crash, redelivery, retry): the request id is checked against the durable record and the
 * line's own list before anything is written.
 */
export async function processPlanChange(deps: WorkerDeps, request: PlanChangeRequest, now: Instant): Promise<Outcome> {
  const { collections: c, outbox } = deps;
  const decided = await findDecision(c, request.requestId);
  if (decided) {
    // Decided before: nothing changes. Its events may still wait in an outbox after a crash.
    await outbox.flushQuietly(c.requests, decided._id);
    if (decided.lineId) await outbox.flushQuietly(c.lines, decided.lineId);
    return 'duplicate';
  }

  const { state, lineDoc } = await loadPlanChange(c, request);
  const result = changePlan(request, state, now);
  switch (result.outcome) {
    case 'duplicate': {
      // The line holds the request: a crash came after the commit point. Finish what followed it.
      const line = lineDoc!.line;
      await syncResources(c, line);
      await recordDecision(c, { requestId: request.requestId, clientAccountId: request.clientAccountId, lineId: line.lineId, outcome: 'applied', reason: null, eventId: eventKeys.planChange(request.requestId, 'applied'), decidedAt: now, outbox: [] });
      await outbox.flushQuietly(c.lines, line.lineId);
      return 'duplicate';
    }
    case 'applied': {
      failpoint('plan-change:before-line-write');
      await commitAppliedChange(c, lineDoc!, {
        requestId: request.requestId,
        line: result.line,
        month: result.month,
        outbox: entries(deps.prefix, result.events, now),
      });
      failpoint('plan-change:after-line-write');
      await syncResources(c, result.line);
      await recordDecision(c, { requestId: request.requestId, clientAccountId: request.clientAccountId, lineId: result.line.lineId, outcome: 'applied', reason: null, eventId: eventKeys.planChange(request.requestId, 'applied'), decidedAt: now, outbox: [] });
      await outbox.flushQuietly(c.lines, result.line.lineId);
      return 'applied';
    }
    case 'rejected': {
      const pending = entries(deps.prefix, result.events, now);
      await recordDecision(c, { requestId: request.requestId, clientAccountId: request.clientAccountId, lineId: state.line?.lineId ?? null, outcome: 'rejected', reason: result.reason, eventId: eventKeys.planChange(request.requestId, 'rejected'), decidedAt: now, outbox: pending });
      await outbox.flushQuietly(c.requests, requestKey('plan-change', request.requestId));
      return 'rejected';
    }
    default: {
      const unknown: never = result;
      throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

export function entries(prefix: string, events: DomainEvent[], now: Instant) {
  return events.map((event) => toOutboxEntry(prefix, event, now));
}
