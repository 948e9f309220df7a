import type { Job, Queue } from 'bullmq';
import { queryError, REQUEST_STATUSES, type QueryError, type RequestStatus, type RequestStatusName } from '../contract/queries.js';
import { eventKeys } from '../domain/index.js';
import { requestKey, type Collections, type DeadLetterDocument, type LineDecision, type RequestDocument } from '../store/documents.js';
import type { CommandJob } from '../queues/command-queues.js';
import { commandJobId } from '../queues/command-queues.js';

export interface RequestReadDeps {
  collections: Pick<Collections, 'requests' | 'lines' | 'deadLetters'>;
  /** Every partition queue: a status body has no serviceRef, so the job is looked for in each. */
  queues: readonly Queue[];
}

/** A job in one of these states has not been decided yet. */
const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * What became of a plan-change request, from the durable records first:
 * 1. its decision in `requests` (scheduled, applied, rejected, cancelled; failed, unless a job for it runs again), or
 *    on its line (the commit point, which the `requests` record follows);
 * 2. a job for it that waits or runs: `pending`;
 * 3. a failed job the dead-letter collector has not moved yet, or its dead letter: `failed`
 *    (an INVALID_PAYLOAD letter: `rejected`);
 * 4. else `unknown` (never taken in, or still in the stream ahead of the intake).
 * The decision is read again when the job turns out finished: it may have been written
 * between the two reads.
 */
export async function readRequestStatus(deps: RequestReadDeps, requestId: string, account?: string): Promise<RequestStatus | QueryError> {
  const first = await deps.collections.requests.findOne({ _id: requestKey('plan-change', requestId) });
  if (first && account !== undefined && first.clientAccountId !== account) return notYours(requestId, account);
  // A failure gives way to a later decision of the same request (a retry running now).
  if (first && first.outcome !== 'failed' && first.outcome !== 'scheduled') return fromRecord(deps, first);
  // A schedule's record gives way to the line's later decision (applied, rejected, cancelled):
  // the line is the commit point, and a crash may sit between it and the record.
  if (first?.outcome === 'scheduled' && first.lineId) {
    const onLine = await lineDecision(deps, first.lineId, requestId);
    if (onLine && onLine.outcome !== 'scheduled') return fromDecision(deps, first.lineId, requestId, { ...onLine, effectiveAt: first.effectiveAt });
    return fromRecord(deps, first);
  }

  const job = await findJob(deps.queues, requestId);
  if (job && account !== undefined && job.job.data.kind === 'plan-change' && job.job.data.request.clientAccountId !== account) return notYours(requestId, account);
  if (job && LIVE_JOB_STATES.has(job.state)) return status(requestId, 'pending');

  const record = first ?? (job ? await deps.collections.requests.findOne({ _id: requestKey('plan-change', requestId) }) : null);
  if (record) return fromRecord(deps, record);
  // The line's own decision is the commit point; the requests record follows it (a crash may sit between).
  const lineId = job?.job.data.kind === 'plan-change' ? job.job.data.request.lineId : null;
  const onLine = lineId ? await lineDecision(deps, lineId, requestId) : null;
  if (onLine) return fromDecision(deps, lineId!, requestId, onLine);
  if (job?.state === 'failed') {
    const failedAt = job.job.finishedOn ? new Date(job.job.finishedOn).toISOString() : null;
    return status(requestId, 'failed', { reason: 'RETRIES_EXHAUSTED', eventId: eventKeys.planChange(requestId, 'failed'), decidedAt: failedAt });
  }
  const letter = await deps.collections.deadLetters.findOne({ requestId, kind: 'plan-change', ...(account === undefined ? {} : { clientAccountId: account }) }, { sort: { lastAt: -1 } });
  if (letter) return fromLetter(requestId, letter);
  return status(requestId, 'unknown');
}

/** The line's decision about the request; a schedule still pending on the line gives its effectiveAt (a decision does not carry it). */
async function lineDecision(deps: RequestReadDeps, lineId: string, requestId: string): Promise<(LineDecision & { effectiveAt?: string }) | null> {
  const line = await deps.collections.lines.findOne({ _id: lineId }, { projection: { decisions: 1, 'line.scheduledChange': 1 } });
  const decision = line?.decisions?.findLast((d) => d.requestId === requestId);
  if (!decision) return null;
  const scheduled = line?.line?.scheduledChange;
  return scheduled?.requestId === requestId ? { ...decision, effectiveAt: scheduled.effectiveAt } : decision;
}

function fromDecision(deps: RequestReadDeps, lineId: string, requestId: string, decision: LineDecision & { effectiveAt?: string | undefined }): Promise<RequestStatus> {
  const { outcome, clientAccountId, reason, eventId, decidedAt, effectiveAt } = decision;
  return fromRecord(deps, { _id: requestKey('plan-change', requestId), kind: 'plan-change', lineId, clientAccountId, outcome, reason, eventId, decidedAt, ...(effectiveAt ? { effectiveAt } : {}), outbox: [] });
}

function notYours(requestId: string, account: string): QueryError {
  return queryError('TENANT_MISMATCH', `request '${requestId}' is not a request of client account '${account}'`);
}

async function fromRecord(deps: RequestReadDeps, record: RequestDocument): Promise<RequestStatus> {
  const requestId = record._id.slice('plan-change:'.length);
  const name = statusName(record.outcome);
  // Applied: when it took effect (a scheduled change applied late took effect then, not at its effectiveAt).
  // Scheduled: when it will; cancelled or rejected after being scheduled: when it would have.
  const effectiveAt = name === 'applied' ? await appliedAt(deps, record) : (record.effectiveAt ?? null);
  return status(requestId, name, { reason: record.reason ?? null, eventId: record.eventId, decidedAt: record.decidedAt, effectiveAt });
}

/** The outcomes the `requests` collection records are statuses of the same name. */
function statusName(outcome: string): RequestStatusName {
  return (REQUEST_STATUSES as readonly string[]).includes(outcome) ? (outcome as RequestStatusName) : 'unknown';
}

/** When an applied change took effect: its entry in the line's plan history (the commit point). */
async function appliedAt(deps: RequestReadDeps, record: RequestDocument): Promise<string> {
  if (!record.lineId) return record.decidedAt;
  const requestId = record._id.slice('plan-change:'.length);
  const line = await deps.collections.lines.findOne({ _id: record.lineId }, { projection: { 'line.planHistory': 1 } });
  return line?.line?.planHistory?.find((entry) => entry.requestId === requestId)?.effectiveAt ?? record.decidedAt;
}

function fromLetter(requestId: string, letter: DeadLetterDocument): RequestStatus {
  if (letter.reason === 'INVALID_PAYLOAD') {
    // Its rejected event is named after the letter (the message may have had no usable requestId).
    return status(requestId, 'rejected', { reason: 'INVALID_PAYLOAD', eventId: eventKeys.planChange(`invalid-${letter._id}`, 'rejected'), decidedAt: letter.firstAt });
  }
  return status(requestId, 'failed', { reason: letter.reason, eventId: eventKeys.planChange(requestId, 'failed'), decidedAt: letter.lastAt });
}

async function findJob(queues: readonly Queue[], requestId: string): Promise<{ job: Job<CommandJob>; state: string } | undefined> {
  const jobId = commandJobId({ kind: 'plan-change', request: { requestId } } as CommandJob);
  const found = await Promise.all(
    queues.map(async (queue) => {
      const job = (await queue.getJob(jobId)) as Job<CommandJob> | undefined;
      return job ? { job, state: await job.getState() } : undefined;
    }),
  );
  return found.find((entry) => entry && LIVE_JOB_STATES.has(entry.state)) ?? found.find((entry) => entry !== undefined);
}

function status(requestId: string, name: RequestStatusName, facts: Partial<Omit<RequestStatus, 'requestId' | 'status'>> = {}): RequestStatus {
  return { requestId, status: name, reason: facts.reason ?? null, eventId: facts.eventId ?? null, decidedAt: facts.decidedAt ?? null, effectiveAt: facts.effectiveAt ?? null };
}
