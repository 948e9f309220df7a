import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type { Clock } from '../../app/clock.js';
import { planChangeRequestSchema, type PlanChangeRequest } from '../../contract/messages.js';
import type { Collections } from '../../store/documents.js';

export type Submitted = { requestId: string } | { status: 400 | 404 | 503; code: string; message: string };

/**
 * "Confirmer": a plan-change request published through JetStream exactly as an upstream system
 * publishes one (same subject, same schema, `Nats-Msg-Id` = requestId). The console decides
 * nothing: the pipeline applies or rejects it, and the page shows the outcome event.
 */
export async function submitPlanChange(
  deps: { collections: Pick<Collections, 'lines'>; clock: Clock; prefix: string },
  nc: NatsConnection | undefined,
  lineId: string,
  targetResourceId: string,
): Promise<Submitted> {
  const doc = await deps.collections.lines.findOne({ _id: lineId }, { projection: { clientAccountId: 1, 'line.serviceRef': 1 } });
  if (!doc) return { status: 404, code: 'UNKNOWN_LINE', message: `line '${lineId}' does not exist` };
  const body: PlanChangeRequest = {
    requestId: `console-${randomUUID()}`,
    clientAccountId: doc.clientAccountId,
    serviceRef: doc.line.serviceRef,
    lineId,
    targetResourceId,
    requestedAt: deps.clock().toISOString(),
    requestedBy: 'console',
  };
  const valid = planChangeRequestSchema.safeParse(body);
  if (!valid.success) return { status: 400, code: 'INVALID_PAYLOAD', message: valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (!nc) return { status: 503, code: 'UNAVAILABLE', message: 'NATS is not connected' };
  await nc.jetstream().publish(`${deps.prefix}.cmd.plan-change.${body.clientAccountId}`, JSON.stringify(body), { msgID: body.requestId });
  return { requestId: body.requestId };
}
