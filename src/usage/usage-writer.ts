/**
 * Counting a batch of usage records: each usage id once, durably, whatever is redelivered,
 * duplicated or crashed, with one write per line per batch. No transaction: the steps are
 *
 *   1. claim    insert `usage/<usageId>` = {seq, attempt}: the message (stream sequence, the
 *               same on every redelivery) that inserts it owns it. A message whose usage id
 *               another message owns is a duplicate: acknowledged, never counted (its owner
 *               will be: an owner is only acknowledged once counted or refused).
 *   2. commit   per line, one version-guarded update of the line document: counters, month
 *               record, coalesced usage.updated, and `usagePending += {commit, usageIds}`.
 *               Usage of a month the line has left goes to that month's archive the same way.
 *   3. settle   one `usageAttempts/<attempt>` document: every claim this attempt inserted is
 *               counted (claims it counted for an earlier attempt are marked `applied` one by
 *               one; refused ones `rejected`, after their dead letter).
 *   4. publish  the outboxes, and `$pull` the pending entries: the claims now say it.
 *   5. ack      the messages.
 *
 * Before counting, an owner removes what is already counted: usage ids listed in a record's
 * `usagePending` (committed, not settled: a crash between 2 and 3) and settled claims. The
 * pending check comes from the same read as the version the commit is guarded on, so two
 * attempts of one message (a redelivery while the first still runs) never both count it: the
 * second to commit fails its guard, reads again and finds the first's entry. Settled claims are
 * read after that line read, because a pending entry is pulled only after its claims are
 * settled; and only when another attempt can have run (a message delivered before, or held
 * longer than half the ack wait). A crash at any step leaves the messages unacknowledged; their
 * redelivery finds the claims theirs, and counts exactly what is not counted yet.
 */
import { randomUUID } from 'node:crypto';
import type { UsageRecord } from '../contract/messages.js';
import {
  coalesceUsageUpdated,
  recordUsageBatch,
  usageUpdated,
  type DomainEvent,
  type Instant,
  type LineMonth,
  type Month,
  type Product,
  type ProductCatalog,
  type UsageRejection,
} from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { publishOutboxes } from '../relay/publish-outboxes.js';
import type { Collections, DeadLetterDocument } from '../store/documents.js';
import type { References } from '../store/plan-change-store.js';
import { archiveMonth } from '../store/month-archive.js';
import { toRecord } from '../store/strip.js';
import {
  commitArchiveUsage,
  commitLineUsage,
  insertClaims,
  insertUsageDeadLetters,
  lineMonthKey,
  loadArchivedMonths,
  loadUsageLines,
  settleAttempt,
  settledClaims,
  type LineUsageCommit,
  type UsageLine,
} from '../store/usage-store.js';
import type { UsageCommit } from '../store/monitoring-documents.js';
import type { JetStreamClient } from 'nats';
import { failpoint } from '../workers/failpoints.js';

/** A valid usage message of the batch. */
export interface UsageMessage {
  seq: number;
  subject: string;
  record: UsageRecord;
  month: Month;
  /** Delivered before (its claim may be from an earlier attempt). */
  redelivered: boolean;
  /** When this process received it (ms): how long ago its ack timer started, at the latest. */
  receivedAt: number;
}

export interface UsageWriterDeps {
  collections: Collections;
  references: References;
  js: () => JetStreamClient | undefined;
  prefix: string;
  usageStream: string;
  usageUpdatedIntervalMs: number;
  /** The consumer's ack wait: past half of it, a redelivery may be running elsewhere. */
  ackWaitMs: number;
  /** Told when a line's `usage.updated` is held back until `dueAt`, so the notice sweeper runs then. */
  onNoticeDue?: (dueAt: Instant) => void;
}

export interface BatchResult {
  /** Milliseconds spent per step, for the debug log. */
  steps: Record<'claim' | 'load' | 'decide' | 'commit' | 'settle' | 'publish', number>;
  counted: number;
  duplicates: number;
  rejected: number;
  lines: number;
  events: number;
}

/** Rounds of re-reading lines written meanwhile by someone else, before the batch is retried whole. */
const MAX_ROUNDS = 20;

export async function writeUsageBatch(deps: UsageWriterDeps, messages: readonly UsageMessage[], now: Instant): Promise<BatchResult> {
  const c = deps.collections;
  const attempt = randomUUID();
  const ms = { claim: 0, load: 0, decide: 0, commit: 0, settle: 0, publish: 0 };
  let mark = Date.now();
  const lap = (step: keyof typeof ms) => {
    const at = Date.now();
    ms[step] += at - mark;
    mark = at;
  };

  // 1. Claims. Within the batch, the first message of a usage id is its candidate owner.
  const candidates = new Map<string, UsageMessage>();
  let duplicates = 0;
  for (const message of messages) {
    if (candidates.has(message.record.usageId)) duplicates += 1;
    else candidates.set(message.record.usageId, message);
  }
  const existing = await insertClaims(c, attempt, [...candidates.values()].map((m) => ({ usageId: m.record.usageId, seq: m.seq, lineId: m.record.lineId, month: m.month })), now);
  /** Claims of these messages inserted by an earlier attempt: if this one counts them, it marks them. */
  const resumed = new Set<string>();
  for (const claim of existing) {
    const message = candidates.get(claim._id)!;
    // Ours (an earlier attempt of the same message) goes on, even if settled: its pending entry may need pulling.
    if (claim.seq !== message.seq) {
      candidates.delete(claim._id);
      duplicates += 1;
    } else resumed.add(claim._id);
  }
  failpoint('usage:after-claims');
  lap('claim');

  // 2. Commits, round after round for the lines someone else wrote meanwhile.
  const oldest = Math.min(...messages.map((m) => m.receivedAt));
  const redelivered = resumed.size > 0 || messages.some((m) => m.redelivered);
  let todo = [...candidates.values()];
  const counted = new Set<string>();
  const rejected = new Map<string, { message: UsageMessage; rejection: UsageRejection }>();
  const settleAlso = new Set<string>();
  const pullFromLines = new Map<string, Set<string>>();
  const pullFromArchives = new Map<string, Set<string>>();
  const committedLines: { _id: string; outbox?: DeadLetterDocument['outbox'] }[] = [];
  const committedArchives: string[] = [];
  for (let round = 1; todo.length > 0; round++) {
    if (round > MAX_ROUNDS) throw new Error(`usage batch: lines still written by others after ${MAX_ROUNDS} rounds`);
    const lines = await loadUsageLines(c, unique(todo.map((m) => m.record.lineId)));
    const archiveKeys = todo.filter((m) => isArchived(lines.get(m.record.lineId), m.month)).map((m) => lineMonthKey(m.record.lineId, m.month));
    const archives = await loadArchivedMonths(c, unique(archiveKeys));
    // Another attempt of one of these messages can only have run if one was delivered before, or
    // if its ack wait may have expired (then JetStream redelivers it, maybe to another process).
    const mayOverlap = redelivered || Date.now() - oldest > deps.ackWaitMs / 2;
    const settled = mayOverlap ? await settledClaims(c, todo.map((m) => m.record.usageId)) : new Set<string>();
    const products = await catalogOf(deps.references, [...lines.values()]);
    lap('load');

    // What an earlier attempt committed and did not settle: counted already; settled by us.
    const remaining: UsageMessage[] = [];
    for (const message of todo) {
      const id = message.record.usageId;
      const line = lines.get(message.record.lineId);
      const archiveKey = lineMonthKey(message.record.lineId, message.month);
      const holder = isArchived(line, message.month) ? archives.get(archiveKey)?.usagePending : line?.usagePending;
      const entry = holder?.find((p) => p.usageIds.includes(id));
      if (entry) {
        // Every id of that entry is counted: settle them all (again, maybe) before pulling it.
        for (const other of entry.usageIds) settleAlso.add(other);
        addTo(isArchived(line, message.month) ? pullFromArchives : pullFromLines, isArchived(line, message.month) ? archiveKey : message.record.lineId, entry.commit);
        duplicates += 1;
      } else if (settled.has(id)) duplicates += 1;
      else remaining.push(message);
    }

    const lineCommits: LineUsageCommit[] = [];
    const lost: UsageMessage[] = [];
    const byTarget = groupBy(remaining, (m) => (isArchived(lines.get(m.record.lineId), m.month) ? `A|${lineMonthKey(m.record.lineId, m.month)}` : `L|${m.record.lineId}`));
    for (const [target, group] of byTarget) {
      const lineId = group[0]!.record.lineId;
      const line = lines.get(lineId) ?? null;
      const archive = target.startsWith('A|') ? (archives.get(target.slice(2)) ?? null) : undefined;
      const decided = recordUsageBatch(
        group.map((m) => m.record),
        { line: line?.line ?? null, service: line ? { serviceRef: line.serviceRef, clientAccountId: line.clientAccountId } : null, products, month: archive !== undefined ? (archive?.record ?? null) : (line?.month ?? null), recordedUsageIds: [] },
        now,
      );
      for (const rejection of decided.rejected) rejected.set(rejection.usageId, { message: group.find((m) => m.record.usageId === rejection.usageId)!, rejection });
      if (decided.recorded.length === 0 || !line || !decided.month) continue;
      const pending: UsageCommit = { commit: `${attempt}:${lineId}`, usageIds: decided.recorded };

      if (archive !== undefined) {
        const events: DomainEvent[] = [...decided.events, usageUpdated(decided.month, decided.lastUsageId!)];
        const won = await commitArchiveUsage(c, { key: target.slice(2), lineId, clientAccountId: line.clientAccountId, version: archive?.version ?? null, record: decided.month, pending, outbox: entries(deps.prefix, events, now) });
        if (won) {
          decided.recorded.forEach((id) => counted.add(id));
          addTo(pullFromArchives, target.slice(2), pending.commit);
          committedArchives.push(target.slice(2));
        } else lost.push(...group.filter((m) => decided.recorded.includes(m.record.usageId)));
        continue;
      }

      // A month the line leaves is archived before the line write that leaves it.
      for (const closed of decided.closed) await archiveMonth(c, line, closed.record);
      const notice = line.usageNotice ?? null;
      const pendingRecord = notice?.dueAt && notice.month !== decided.month.month && !decided.closed.some((cl) => cl.record.month === notice.month) ? await archivedRecord(c, lineId, notice.month) : null;
      const coalesced = coalesceUsageUpdated({ notice, current: { record: decided.month, lastUsageId: decided.lastUsageId }, closed: decided.closed, pendingRecord, now, intervalMs: deps.usageUpdatedIntervalMs });
      lineCommits.push({ lineId, version: line.version, month: decided.month, usageNotice: coalesced.notice, pending, outbox: entries(deps.prefix, [...decided.events, ...coalesced.events], now) });
      if (coalesced.notice?.dueAt) deps.onNoticeDue?.(coalesced.notice.dueAt);
    }

    lap('decide');
    const result = await commitLineUsage(c, lineCommits, now);
    failpoint('usage:after-commit');
    const lostLines = new Set(result.lost);
    for (const commit of lineCommits) {
      if (lostLines.has(commit.lineId)) continue;
      commit.pending.usageIds.forEach((id) => counted.add(id));
      addTo(pullFromLines, commit.lineId, commit.pending.commit);
    }
    committedLines.push(...result.committed);
    todo = [...lost, ...remaining.filter((m) => lostLines.has(m.record.lineId) && !rejected.has(m.record.usageId))];
    lap('commit');
  }

  // 3. Settle: dead letters first (a refusal is kept before it is acknowledged), then the claims.
  await insertUsageDeadLetters(c, [...rejected.values()].map(({ message, rejection }) => deadLetterOf(deps, message, rejection, now)));
  const alsoApplied = new Set([...settleAlso, ...[...counted].filter((id) => resumed.has(id))]);
  await settleAttempt(c, { id: attempt, counted: counted.size, at: now }, alsoApplied, new Map([...rejected].map(([id, r]) => [id, r.rejection.reason])));
  failpoint('usage:after-settle');
  lap('settle');

  // 4. Publish and pull (a failure to publish is the relay's to retry; the pull of pending entries still happens).
  const js = deps.js();
  const lineDocs = uniqueDocs([...committedLines, ...[...pullFromLines.keys()].map((_id) => ({ _id, outbox: [] }))]);
  const published = await publishOutboxes(js, c.lines, lineDocs, (id) => pullOf(pullFromLines.get(id)));
  const archiveDocs = await c.lineMonths.find({ _id: { $in: unique([...committedArchives, ...pullFromArchives.keys()]) } }, { projection: { outbox: 1 } }).toArray();
  const publishedArchives = await publishOutboxes(js, c.lineMonths, archiveDocs, (id) => pullOf(pullFromArchives.get(id)));

  lap('publish');
  return { steps: ms, counted: counted.size, duplicates, rejected: rejected.size, lines: committedLines.length, events: published.published + publishedArchives.published };
}

/** Usage of a month the line has already left is counted on that month's archive. */
function isArchived(line: UsageLine | undefined, month: Month): boolean {
  return !!line?.month && month < line.month.month;
}

async function archivedRecord(c: Collections, lineId: string, month: Month): Promise<LineMonth | null> {
  return (await c.lineMonths.findOne({ _id: lineMonthKey(lineId, month) }, { projection: { record: 1 } }))?.record ?? null;
}

async function catalogOf(references: References, lines: UsageLine[]): Promise<ProductCatalog> {
  const refs = unique(lines.flatMap((line) => line.line.planHistory.map((h) => h.productRef)));
  const products = await references.products.getMany(refs);
  return Object.fromEntries(products.map((p) => [p._id, toRecord(p) as Product]));
}

function deadLetterOf(deps: UsageWriterDeps, message: UsageMessage, rejection: UsageRejection, now: Instant): DeadLetterDocument {
  return {
    _id: `${deps.usageStream}:${message.seq}`,
    kind: 'usage',
    subject: message.subject,
    payload: JSON.stringify(message.record),
    headers: { 'Nats-Msg-Id': message.record.usageId },
    requestId: message.record.usageId,
    clientAccountId: message.record.clientAccountId,
    reason: rejection.reason,
    attempts: 1,
    firstError: rejection.message,
    lastError: rejection.message,
    firstAt: now,
    lastAt: now,
    outbox: [],
  };
}

function entries(prefix: string, events: DomainEvent[], now: Instant) {
  return events.map((event) => toOutboxEntry(prefix, event, now));
}

function pullOf(commits: Set<string> | undefined) {
  return commits && commits.size > 0 ? { usagePending: { commit: { $in: [...commits] } } } : null;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(value);
  map.set(key, set);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function uniqueDocs<T extends { _id: string }>(docs: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const doc of docs) if (!seen.has(doc._id)) seen.set(doc._id, doc);
  return [...seen.values()];
}
