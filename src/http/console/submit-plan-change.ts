import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type { Clock } from '../../runtime/clock.js';
import { planChangeCancelSchema, planChangeRequestSchema, type PlanChangeCancel, type PlanChangeRequest } from '../../contract/messages.js';
import type { Collections } from '../../store/documents.js';
import { effectiveAtOf, type When } from './change-timing.js';
import { lineAddress } from './reads.js';

export type Submitted<Id extends string> = Record<Id, string> | { status: 400 | 404 | 503; code: string; message: string };
type SubmitDeps = { collections: Pick<Collections, 'lines'>; clock: Clock; prefix: string };

/**
 * "Confirmer": a plan-change request published through JetStream exactly as an upstream system
 * publishes one (same subject, same schema, `Nats-Msg-Id` = requestId), with `effectiveAt` when
 * it is for the start of next month (the pipeline's clock, read now). The console decides
 * nothing: the pipeline schedules, applies or rejects it, and the page shows the outcome event.
 */
export async function submitPlanChange(deps: SubmitDeps, nc: NatsConnection | undefined, lineId: string, targetResourceId: string, when: When): Promise<Submitted<'requestId'>> {
  const address = await lineAddress(deps, lineId);
  if (!address) return { status: 404, code: 'UNKNOWN_LINE', message: `line '${lineId}' does not exist` };
  const now = deps.clock();
  const effectiveAt = effectiveAtOf(when, now);
  const body: PlanChangeRequest = {
    requestId: `console-${randomUUID()}`,
    ...address,
    lineId,
    targetResourceId,
    requestedAt: now.toISOString(),
    requestedBy: 'console',
    ...(effectiveAt ? { effectiveAt } : {}),
  };
  const valid = planChangeRequestSchema.safeParse(body);
  if (!valid.success) return invalid(valid.error.issues);
  if (!nc) return unavailable();
  await nc.jetstream().publish(`${deps.prefix}.cmd.plan-change.${body.clientAccountId}`, JSON.stringify(body), { msgID: body.requestId });
  return { requestId: body.requestId };
}

/**
 * « Annuler le changement »: a plan-change-cancel published as upstream would
 * (`Nats-Msg-Id` = cancelId). Whether the change is still scheduled is the worker's to decide,
 * on the line itself (it may be applied meanwhile: NOT_SCHEDULED).
 */
export async function submitPlanChangeCancel(deps: SubmitDeps, nc: NatsConnection | undefined, lineId: string, requestId: string): Promise<Submitted<'cancelId'>> {
  const address = await lineAddress(deps, lineId);
  if (!address) return { status: 404, code: 'UNKNOWN_LINE', message: `line '${lineId}' does not exist` };
  const body: PlanChangeCancel = { cancelId: `console-cancel-${randomUUID()}`, clientAccountId: address.clientAccountId, requestId, requestedAt: deps.clock().toISOString() };
  const valid = planChangeCancelSchema.safeParse(body);
  if (!valid.success) return invalid(valid.error.issues);
  if (!nc) return unavailable();
  await nc.jetstream().publish(`${deps.prefix}.cmd.plan-change-cancel.${body.clientAccountId}`, JSON.stringify(body), { msgID: body.cancelId });
  return { cancelId: body.cancelId };
}

function invalid(issues: { path: PropertyKey[]; message: string }[]) {
  return { status: 400 as const, code: 'INVALID_PAYLOAD', message: issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ') };
}

function unavailable() {
  return { status: 503 as const, code: 'UNAVAILABLE', message: 'NATS is not connected' };
}
