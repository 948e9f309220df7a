import { cancelPlanChange, eventKeys, type Instant, type Service } from '../domain/index.js';
import type { PlanChangeCancel } from '../contract/messages.js';
import { DECIDED_REQUEST_IDS_KEPT, requestKey, type RequestDocument } from '../store/documents.js';
import { insertMarked } from '../store/marked-writes.js';
import { rereadWhileLost, writeLine } from '../store/line-writes.js';
import { commitOnLine, decisionAbout, findDecision, projectResources, recordDecision } from '../store/plan-change-store.js';
import { unmarkScheduled } from '../store/scheduled-markers.js';
import { toRecord } from '../store/to-record.js';
import { entries, type Outcome, type WorkerDeps } from './plan-change.js';

/**
 * A cancel of a scheduled plan change. Decided on the line that holds the change, by the same
 * guarded write that applies it when due: of a cancel and the application, exactly one wins,
 * whatever the queues did. Applied: the change is gone from the line, its target released, the
 * request's final outcome is `cancelled`. Otherwise refused (`NOT_SCHEDULED`, `TENANT_MISMATCH`).
 */
export async function processPlanChangeCancel(deps: WorkerDeps, cancel: PlanChangeCancel, now: Instant): Promise<Outcome> {
  const c = deps.collections;
  const key = requestKey('plan-change-cancel', cancel.cancelId);
  return rereadWhileLost(`cancel '${cancel.cancelId}' of '${cancel.requestId}'`, async (): Promise<Outcome | 'lost'> => {
    if (await c.requests.findOne({ _id: key }, { projection: { _id: 1 } })) {
      await deps.outbox.flushQuietly(c.requests, key);
      return { outcome: 'duplicate' };
    }
    // The line: the one its scheduled change is marked on, else the one its request was decided on.
    const lineId = (await c.scheduledChanges.findOne({ _id: cancel.requestId }))?.lineId ?? (await findDecision(c, cancel.requestId))?.lineId ?? null;
    const lineDoc = lineId ? await c.lines.findOne({ _id: lineId }) : null;
    const service = lineDoc ? ((await deps.references.services.getMany([lineDoc.serviceRef]))[0] ?? null) : null;
    const result = cancelPlanChange(cancel, { line: lineDoc?.line ?? null, service: service ? (toRecord(service) as Service) : null, decidedCancelIds: lineDoc?.decidedCancelIds ?? [] }, now);
    const pending = result.outcome === 'duplicate' ? [] : entries(deps.prefix, result.events, now);
    const record = async (outcome: 'applied' | 'rejected', reason: string | null, outbox: RequestDocument['outbox']) =>
      (await insertMarked(c, 'requests', { _id: key, kind: 'plan-change-cancel', clientAccountId: cancel.clientAccountId, lineId, outcome, reason, eventId: eventKeys.planChangeCancel(cancel.cancelId, outcome), decidedAt: now, outbox })).markers;
    switch (result.outcome) {
      case 'duplicate':
        if (lineDoc) await deps.outbox.flushQuietly(c.lines, lineDoc._id);
        return { outcome: 'duplicate' };
      case 'applied': {
        const scheduled = lineDoc!.line.scheduledChange!;
        const decision = decisionAbout({ requestId: cancel.requestId, clientAccountId: scheduled.clientAccountId }, 'cancelled', null, now);
        const committed = await commitOnLine(c, lineDoc!, { decision, change: { line: result.line }, outbox: pending, now, decidedBefore: true, cancelId: cancel.cancelId });
        if (committed.status !== 'committed') return 'lost';
        await Promise.all([
          projectResources(c, [result.released.resourceId]),
          recordDecision(c, { requestId: cancel.requestId, clientAccountId: decision.clientAccountId, lineId: lineDoc!._id, outcome: 'cancelled', reason: null, eventId: decision.eventId, decidedAt: now, effectiveAt: scheduled.effectiveAt, outbox: [] }),
          record('applied', null, []),
        ]);
        // Recorded `cancelled` before the event says so (see due-change.ts).
        await deps.outbox.flushQuietly(c.lines, lineDoc!._id, committed.outbox, committed.markers);
        await unmarkScheduled(c, cancel.requestId);
        return { outcome: 'cancelled' };
      }
      case 'rejected': {
        if (!lineDoc) {
          // No line to decide on: the record is the commit point, with the refusal's event.
          const markers = await record('rejected', result.reason, pending);
          await deps.outbox.flushQuietly(c.requests, key, undefined, markers);
          return { outcome: 'rejected', reason: result.reason };
        }
        const written = await writeLine(c, { lineId: lineDoc._id, version: lineDoc.version, asRead: { outbox: lineDoc.outbox ?? [] }, set: {}, push: { decidedCancelIds: { $each: [cancel.cancelId], $slice: -DECIDED_REQUEST_IDS_KEPT } }, outbox: pending }, now);
        if (written.status !== 'committed') return 'lost';
        await record('rejected', result.reason, []);
        await deps.outbox.flushQuietly(c.lines, lineDoc._id, written.outbox, written.markers);
        return { outcome: 'rejected', reason: result.reason };
      }
      default: {
        const unknown: never = result;
        throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
      }
    }
  });
}

