/**
 * Counting a batch of usage records: each usage id once, durably, whatever is redelivered,
 * duplicated or crashed, with one write per line per batch. No transaction: the steps are
 *
 *   1. claim    insert `usage/<usageId>` = {seq, attempt}: the message (stream sequence, the
 *               same on every redelivery) that inserts it owns it. A message whose usage id
 *               another message owns is a duplicate: acknowledged, never counted (its owner
 *               will be: an owner is only acknowledged once counted or refused).
 *   2. commit   per line, one version-guarded update of the line document: counters, month
 *               record, coalesced usage.updated, and `usagePending += {commit, usageIds}`. No
 *               outbox marker: the entry and the unacknowledged messages stand for it.
 *               Usage of a month the line has left goes to that month's archive the same way.
 *   3. settle   one `usageAttempts/<attempt>` document: every claim this attempt inserted is
 *               counted (claims it counted for an earlier attempt are marked `applied` one by
 *               one; refused ones `rejected`, after their dead letter).
 *   4. publish  the outboxes (what fails is marked for the relay), and `$pull` the pending
 *               entries: the claims now say it.
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
  countedOn,
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
import { publishOutboxes, type DeferredEvents } from '../outbox/publish-outboxes.js';
import type { Collections, DeadLetterDocument, OutboxEntry } from '../store/documents.js';
import { rereadWhileLost } from '../store/line-writes.js';
import { deadLetter, streamLetterId } from '../store/dead-letter.js';
import type { References } from '../store/plan-change-store.js';
import { archiveMonth } from '../store/month-archive.js';
import { toRecord } from '../store/to-record.js';
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
  type CommittedLine,
  type LineUsageCommit,
  type UsageLine,
} from '../store/usage-store.js';
import type { MarkerRef } from '../store/outbox-markers.js';
import type { LineMonthDocument, UsageCommit } from '../store/monitoring-documents.js';
import type { JetStreamClient } from 'nats';
import { failpoint } from '../runtime/failpoints.js';
import { groupBy } from '../runtime/group-by.js';

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
  /** Told, once the line is written, that its `usage.updated` is held back until `dueAt`, so the notice sweeper runs then. */
  onNoticeDue?: (dueAt: Instant) => void;
  /** Told when events were left unpublished (marked for the relay), so the relay sweeps soon. */
  onPublishDeferred?: (left: DeferredEvents) => void;
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

/** What one attempt at a batch has done so far, step after step. */
interface Attempt {
  id: string;
  now: Instant;
  /** Usage ids whose claim an earlier attempt of the same message inserted (it marks them when it counts them). */
  resumed: Set<string>;
  /** Another attempt may have counted some of these: a message delivered before, or one its ack wait may have passed on. */
  redelivered: boolean;
  oldest: number;
  duplicates: number;
  counted: Set<string>;
  rejected: Map<string, { message: UsageMessage; rejection: UsageRejection }>;
  /** Counted by an earlier attempt that did not settle: settled by this one. */
  settleAlso: Set<string>;
  /** `usagePending` entries to pull once settled, per line and per archive. */
  pullFromLines: Map<string, Set<string>>;
  /** The outbox, as read, of each line where an earlier attempt's entry was found: maybe never published (no marker: step 2). */
  resumedOutboxes: Map<string, OutboxEntry[]>;
  pullFromArchives: Map<string, Set<string>>;
  committedLines: CommittedLine[];
  /** The archives written, with the markers of their events (store/outbox-markers.ts). */
  committedArchives: Map<string, MarkerRef[]>;
}

type Lap = (step: 'load' | 'decide' | 'commit') => void;

export async function writeUsageBatch(deps: UsageWriterDeps, messages: readonly UsageMessage[], now: Instant): Promise<BatchResult> {
  const ms = { claim: 0, load: 0, decide: 0, commit: 0, settle: 0, publish: 0 };
  let mark = Date.now();
  const lap = (step: keyof typeof ms) => {
    const at = Date.now();
    ms[step] += at - mark;
    mark = at;
  };
  const attempt: Attempt = {
    id: randomUUID(), now, resumed: new Set(), redelivered: false, oldest: Math.min(...messages.map((m) => m.receivedAt)), duplicates: 0,
    counted: new Set(), rejected: new Map(), settleAlso: new Set(), pullFromLines: new Map(), resumedOutboxes: new Map(), pullFromArchives: new Map(), committedLines: [], committedArchives: new Map(),
  };
  let todo = await claim(deps, attempt, messages);
  failpoint('usage:after-claims');
  lap('claim');
  // Round after round for the lines (and archives) someone else wrote meanwhile.
  if (todo.length > 0) {
    await rereadWhileLost(`usage batch of ${messages.length} records`, async () => {
      todo = await countRound(deps, attempt, todo, lap);
      return todo.length > 0 ? 'lost' : 'done';
    });
  }
  await settle(deps, attempt);
  failpoint('usage:after-settle');
  lap('settle');
  const events = await publish(deps, attempt);
  lap('publish');
  return { steps: ms, counted: attempt.counted.size, duplicates: attempt.duplicates, rejected: attempt.rejected.size, lines: attempt.committedLines.length, events };
}

/**
 * 1. Claims. Within the batch, the first message of a usage id is its candidate owner; a claim
 * another message owns makes it a duplicate. Returns the messages this attempt may count.
 */
async function claim(deps: UsageWriterDeps, attempt: Attempt, messages: readonly UsageMessage[]): Promise<UsageMessage[]> {
  const candidates = new Map<string, UsageMessage>();
  for (const message of messages) {
    if (candidates.has(message.record.usageId)) attempt.duplicates += 1;
    else candidates.set(message.record.usageId, message);
  }
  const existing = await insertClaims(deps.collections, attempt.id, [...candidates.values()].map((m) => ({ usageId: m.record.usageId, seq: m.seq, lineId: m.record.lineId, month: m.month })), attempt.now);
  for (const claimed of existing) {
    const message = candidates.get(claimed._id)!;
    // Ours (an earlier attempt of the same message) goes on, even if settled: its pending entry may need pulling.
    if (claimed.seq !== message.seq) {
      candidates.delete(claimed._id);
      attempt.duplicates += 1;
    } else attempt.resumed.add(claimed._id);
  }
  attempt.redelivered = attempt.resumed.size > 0 || messages.some((m) => m.redelivered);
  return [...candidates.values()];
}

/**
 * 2. One round of commits: read the lines (and archives) written to, leave out what is counted
 * already, decide each line's (or archive's) group with the domain, commit each with its guarded
 * write. Returns what must be decided again: the groups whose guard was lost.
 */
async function countRound(deps: UsageWriterDeps, attempt: Attempt, todo: UsageMessage[], lap: Lap): Promise<UsageMessage[]> {
  const c = deps.collections;
  const lines = await loadUsageLines(c, unique(todo.map((m) => m.record.lineId)));
  const onArchive = (m: UsageMessage) => countedOn(lines.get(m.record.lineId)?.month?.month ?? null, m.month) === 'archive';
  const archives = await loadArchivedMonths(c, unique(todo.filter(onArchive).map((m) => lineMonthKey(m.record.lineId, m.month))));
  // Another attempt of one of these messages can only have run if one was delivered before, or
  // if its ack wait may have expired (then JetStream redelivers it, maybe to another process).
  const mayOverlap = attempt.redelivered || Date.now() - attempt.oldest > deps.ackWaitMs / 2;
  const settled = mayOverlap ? await settledClaims(c, todo.map((m) => m.record.usageId)) : new Set<string>();
  const products = await catalogOf(deps.references, [...lines.values()]);
  lap('load');

  const remaining = withoutCounted(attempt, todo, { lines, archives, settled, onArchive });
  const lineCommits: LineUsageCommit[] = [];
  const lost: UsageMessage[] = [];
  const byTarget = groupBy(remaining, (m) => (onArchive(m) ? `A|${lineMonthKey(m.record.lineId, m.month)}` : `L|${m.record.lineId}`));
  for (const [target, group] of byTarget) {
    const line = lines.get(group[0]!.record.lineId) ?? null;
    if (target.startsWith('A|')) lost.push(...(await countOnArchive(deps, attempt, group, line, archives.get(target.slice(2)) ?? null, products)));
    else {
      const commit = await decideOnLine(deps, attempt, group, line, products);
      if (commit) lineCommits.push(commit);
    }
  }
  lap('decide');

  const result = await commitLineUsage(c, lineCommits, attempt.now);
  failpoint('usage:after-commit');
  const lostLines = new Set(result.lost);
  for (const commit of lineCommits) {
    if (lostLines.has(commit.lineId)) continue;
    commit.pending.usageIds.forEach((id) => attempt.counted.add(id));
    addTo(attempt.pullFromLines, commit.lineId, commit.pending.commit);
    // Only now, its marker written: a sweep asked for earlier could start before the marker and miss it (sweep-schedule.ts).
    if (commit.usageNotice?.dueAt) deps.onNoticeDue?.(commit.usageNotice.dueAt);
  }
  attempt.committedLines.push(...result.committed);
  lap('commit');
  return [...lost, ...remaining.filter((m) => lostLines.has(m.record.lineId) && !attempt.rejected.has(m.record.usageId))];
}

interface Read {
  lines: Map<string, UsageLine>;
  archives: Map<string, LineMonthDocument>;
  settled: Set<string>;
  onArchive: (m: UsageMessage) => boolean;
}

/**
 * What an earlier attempt committed and did not settle (listed in a record's `usagePending`, read
 * with the version the commit is guarded on) or settled is counted already: left out, and its
 * whole pending entry settled again by this attempt before it is pulled.
 */
function withoutCounted(attempt: Attempt, todo: UsageMessage[], read: Read): UsageMessage[] {
  const remaining: UsageMessage[] = [];
  for (const message of todo) {
    const id = message.record.usageId;
    const archiveKey = lineMonthKey(message.record.lineId, message.month);
    const archived = read.onArchive(message);
    const holder = archived ? read.archives.get(archiveKey)?.usagePending : read.lines.get(message.record.lineId)?.usagePending;
    const entry = holder?.find((p) => p.usageIds.includes(id));
    if (entry) {
      for (const other of entry.usageIds) attempt.settleAlso.add(other);
      if (!archived) attempt.resumedOutboxes.set(message.record.lineId, read.lines.get(message.record.lineId)?.outbox ?? []);
      addTo(archived ? attempt.pullFromArchives : attempt.pullFromLines, archived ? archiveKey : message.record.lineId, entry.commit);
      attempt.duplicates += 1;
    } else if (read.settled.has(id)) attempt.duplicates += 1;
    else remaining.push(message);
  }
  return remaining;
}

/** Usage of a month the line has left, counted on its archive (guarded by the archive's own version). Returns the group if its guard was lost. */
async function countOnArchive(deps: UsageWriterDeps, attempt: Attempt, group: UsageMessage[], line: UsageLine | null, archive: LineMonthDocument | null, products: ProductCatalog): Promise<UsageMessage[]> {
  const decided = decideGroup(attempt, group, line, archive?.record ?? null, products);
  if (decided.recorded.length === 0 || !line || !decided.month) return [];
  const key = lineMonthKey(line._id, group[0]!.month);
  const pending: UsageCommit = { commit: `${attempt.id}:${line._id}`, usageIds: decided.recorded };
  const events: DomainEvent[] = [...decided.events, usageUpdated(decided.month, decided.lastUsageId!)];
  const commit = { key, lineId: line._id, clientAccountId: line.clientAccountId, version: archive?.version ?? null, record: decided.month, pending, outbox: entries(deps.prefix, events, attempt.now) };
  const { won, markers } = await commitArchiveUsage(deps.collections, commit);
  if (!won) return group.filter((m) => decided.recorded.includes(m.record.usageId));
  decided.recorded.forEach((id) => attempt.counted.add(id));
  addTo(attempt.pullFromArchives, key, pending.commit);
  attempt.committedArchives.set(key, [...(attempt.committedArchives.get(key) ?? []), ...markers]);
  return [];
}

/** Usage of the line's current month: the commit to write (a month it leaves is archived first), or none. */
async function decideOnLine(deps: UsageWriterDeps, attempt: Attempt, group: UsageMessage[], line: UsageLine | null, products: ProductCatalog): Promise<LineUsageCommit | null> {
  const decided = decideGroup(attempt, group, line, line?.month ?? null, products);
  if (decided.recorded.length === 0 || !line || !decided.month) return null;
  const c = deps.collections;
  const now = attempt.now;
  for (const closed of decided.closed) await archiveMonth(c, line, closed.record);
  const notice = line.usageNotice ?? null;
  const pendingRecord = notice?.dueAt && notice.month !== decided.month.month && !decided.closed.some((cl) => cl.record.month === notice.month) ? await archivedRecord(c, line._id, notice.month) : null;
  const coalesced = coalesceUsageUpdated({ notice, current: { record: decided.month, lastUsageId: decided.lastUsageId }, closed: decided.closed, pendingRecord, now, intervalMs: deps.usageUpdatedIntervalMs });
  const pending: UsageCommit = { commit: `${attempt.id}:${line._id}`, usageIds: decided.recorded };
  return { lineId: line._id, version: line.version, asRead: { outbox: line.outbox ?? [], noticeDueAt: notice?.dueAt ?? null }, month: decided.month, usageNotice: coalesced.notice, pending, outbox: entries(deps.prefix, [...decided.events, ...coalesced.events], now) };
}

/** The domain's decision for one record's group; its refusals are kept for the dead letters. */
function decideGroup(attempt: Attempt, group: UsageMessage[], line: UsageLine | null, month: LineMonth | null, products: ProductCatalog) {
  const decided = recordUsageBatch(
    group.map((m) => m.record),
    { line: line?.line ?? null, service: line ? { serviceRef: line.serviceRef, clientAccountId: line.clientAccountId } : null, products, month, recordedUsageIds: [] },
    attempt.now,
  );
  for (const rejection of decided.rejected) attempt.rejected.set(rejection.usageId, { message: group.find((m) => m.record.usageId === rejection.usageId)!, rejection });
  return decided;
}

/** 3. Settle: dead letters first (a refusal is kept before it is acknowledged), then the claims. */
async function settle(deps: UsageWriterDeps, attempt: Attempt): Promise<void> {
  const c = deps.collections;
  await insertUsageDeadLetters(c, [...attempt.rejected.values()].map(({ message, rejection }) => deadLetterOf(deps, message, rejection, attempt.now)));
  const alsoApplied = new Set([...attempt.settleAlso, ...[...attempt.counted].filter((id) => attempt.resumed.has(id))]);
  await settleAttempt(c, { id: attempt.id, counted: attempt.counted.size, at: attempt.now }, alsoApplied, new Map([...attempt.rejected].map(([id, r]) => [id, r.rejection.reason])));
}

/**
 * 4. Publish and pull. The line commits carry no outbox marker: until the pull of their pending
 * entry, the entry and the unacknowledged messages are their trace (an attempt that finds an
 * earlier one's entry publishes the line's outbox as it read it). What fails to publish is
 * marked before the pull, and is the relay's to retry. Returns the events published.
 */
async function publish(deps: UsageWriterDeps, attempt: Attempt): Promise<number> {
  const c = deps.collections;
  const js = deps.js();
  const resumed = [...attempt.pullFromLines.keys()].map((_id) => ({ _id, outbox: attempt.resumedOutboxes.get(_id) ?? [], markers: [] }));
  const lineDocs = uniqueDocs([...attempt.committedLines, ...resumed]);
  const published = await publishOutboxes(c, js, c.lines, lineDocs, {
    alsoPull: (id) => pullOf(attempt.pullFromLines.get(id)),
    markFailed: { collection: 'lines' },
    onDeferred: deps.onPublishDeferred,
  });
  const archiveDocs = await c.lineMonths.find({ _id: { $in: unique([...attempt.committedArchives.keys(), ...attempt.pullFromArchives.keys()]) } }, { projection: { outbox: 1 } }).toArray();
  const publishedArchives = await publishOutboxes(
    c,
    js,
    c.lineMonths,
    archiveDocs.map((doc) => ({ ...doc, markers: attempt.committedArchives.get(doc._id) ?? [] })),
    { alsoPull: (id) => pullOf(attempt.pullFromArchives.get(id)), onDeferred: deps.onPublishDeferred },
  );
  return published.published + publishedArchives.published;
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
  return deadLetter({
    id: streamLetterId(deps.usageStream, message.seq),
    kind: 'usage',
    reason: rejection.reason,
    message: { subject: message.subject, data: JSON.stringify(message.record), headers: { 'Nats-Msg-Id': message.record.usageId } },
    requestId: message.record.usageId,
    clientAccountId: message.record.clientAccountId,
    attempts: 1,
    error: rejection.message,
    at: now,
  });
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

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function uniqueDocs<T extends { _id: string }>(docs: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const doc of docs) if (!seen.has(doc._id)) seen.set(doc._id, doc);
  return [...seen.values()];
}
