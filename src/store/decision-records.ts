import { requestKey, type Collections, type RequestDocument } from './documents.js';
import { groupCommit } from './group-commit.js';
import { outboxMarker, refOf, type MarkerRef } from './outbox-markers.js';

const ROUNDS = 20;

/**
 * The durable record of a decision (`requests`), written from what the line committed, so every
 * writer writes the same one. It outlives JetStream's duplicate window, BullMQ's job retention
 * and the line's bounded list. A failure's record gives way to a later decision of the same
 * request (a resend, a retry), and a schedule's to what became of it; never the reverse. The
 * inserts of concurrent jobs go in one `insertMany` (group-commit.ts). A record that carries
 * events (no line to commit on) is marked first (outbox-markers.ts); returns what to unmark once
 * they are published.
 */
export async function recordDecision(c: Collections, decision: Omit<RequestDocument, '_id' | 'kind'> & { requestId: string }): Promise<MarkerRef[]> {
  const { requestId, ...rest } = decision;
  const doc: RequestDocument = { _id: requestKey('plan-change', requestId), kind: 'plan-change', ...rest };
  const gc = groupCommit(c);
  const marker = outboxMarker('requests', doc._id, doc.outbox);
  if (marker) await gc.marks.submit(marker);
  for (let round = 0; round < ROUNDS; round++) {
    if (await gc.requestInserts.submit(doc)) return refOf(marker);
    const existing = await gc.requests.submit(doc._id);
    if (!existing || !givesWay(existing, doc)) break;
    const replaced = await c.requests.findOneAndReplace({ _id: doc._id, outcome: existing.outcome, seq: (existing.seq ?? null) as number }, doc, { projection: { _id: 1 } });
    if (replaced) return refOf(marker);
  }
  // Nothing of ours was written: the marker points at nothing (the sweep would only remove it).
  if (marker) await gc.unmarks.submit({ _id: marker._id });
  return [];
}

/** Whether a recorded decision gives way to another one of the same request. */
function givesWay(existing: Pick<RequestDocument, 'outcome' | 'seq'>, next: Pick<RequestDocument, 'outcome' | 'seq'>): boolean {
  if (existing.outcome === 'failed') return !(next.outcome === 'failed' && next.seq === existing.seq);
  return existing.outcome === 'scheduled' && next.outcome !== 'scheduled';
}

export async function findDecision(c: Collections, requestId: string): Promise<RequestDocument | null> {
  return groupCommit(c).requests.submit(requestKey('plan-change', requestId));
}
