import type { Db, Collection } from 'mongodb';
import type { DeadLetterReason } from './dead-letter-reasons.js';
import type { OutboxEntry } from './outbox-entry.js';
import type { Line, LineMonth, Product, Resource, Service } from '../domain/index.js';
import type { LineMonitoringFields, LineMonthDocument, NotificationDocument, UsageAttemptDocument, UsageClaimDocument } from './monitoring-documents.js';
import type { NoticeMarker, OutboxMarker } from './marker-documents.js';

export type { OutboxEntry } from './outbox-entry.js';

/**
 * The MongoDB documents. Every state change of a line is one update of its LineDocument,
 * guarded by `version`, with the events it causes appended to `outbox` in the same update;
 * the relay publishes the outbox and pulls what JetStream acknowledged.
 */

/** With the usage, coalescing and enforcement fields of monitoring (monitoring-documents.ts). */
export interface LineDocument extends LineMonitoringFields {
  _id: string; // lineId
  version: number;
  clientAccountId: string;
  serviceRef: string;
  line: Line;
  /** The latest month record (the current month once rolled over). */
  month: LineMonth | null;
  /**
   * Plan-change requests decided on this line (applied or rejected), newest last (bounded): the
   * commit point of a decision. Their details are in `decisions`.
   */
  decidedRequestIds: string[];
  /**
   * The decisions of the requests about this line, newest last (bounded), failures included: a
   * decision is committed by the line's guarded write, so a worker that decided on a state that
   * is no longer the line's cannot record it. Absent on lines decided on before it existed.
   */
  decisions?: LineDecision[];
  /**
   * The resources this line holds (its active one): a unique multikey index makes MongoDB refuse
   * a write by which two lines would hold one resource, whatever the queues did. Resource
   * documents' `state` and `lineId` follow it (a projection, written after).
   */
  holds?: string[];
  /** When the line document was last written (the line view's `updatedAt`). */
  updatedAt?: string;
  /** Cancels decided on this line, newest last (bounded): a redelivered cancel changes nothing more. */
  decidedCancelIds?: string[];
  outbox: OutboxEntry[];
}

/** One decision about a plan-change request, as the line records it. */
export interface LineDecision {
  requestId: string;
  clientAccountId: string;
  /** `scheduled` is not final: `applied`, `rejected` or `cancelled` follows it (or `failed`). */
  outcome: 'applied' | 'rejected' | 'failed' | 'scheduled' | 'cancelled';
  reason: string | null;
  eventId: string;
  decidedAt: string;
  /** A failure ends the job of one message (its stream sequence): the same message never runs again, another one may. */
  seq?: number;
}

export type ProductDocument = Product & { _id: string };
export type ServiceDocument = Service & { _id: string };
/**
 * `state` and `lineId` project which line holds the resource (the lines' `holds` are the truth),
 * written by compare-and-set on `pv`, the projection's version. An order creates the resource
 * and its `resource-order.applied` event in one write, hence the outbox here too.
 */
export type ResourceDocument = Resource & { _id: string; lineId?: string | null; pv?: number; outbox?: OutboxEntry[] };

/** The durable record of a decided request: its outcome survives JetStream's and BullMQ's windows. */
export interface RequestDocument {
  _id: string; // `plan-change:<requestId>`, `resource-order:<orderId>` or `plan-change-cancel:<cancelId>`
  kind: 'plan-change' | 'resource-order' | 'plan-change-cancel';
  clientAccountId: string;
  lineId: string | null;
  outcome: 'applied' | 'rejected' | 'failed' | 'scheduled' | 'cancelled';
  reason: string | null;
  eventId: string;
  decidedAt: string;
  /** Of a failure: the stream sequence of the message whose job failed. */
  seq?: number;
  /** Of a scheduled change (and what became of it): when it takes effect. */
  effectiveAt?: string;
  outbox: OutboxEntry[];
}

export interface DeadLetterDocument {
  _id: string;
  /** `warning`: a threshold warning the alert webhook refused (src/alerts/warning-delivery.ts). */
  /** `unknown`: a failed job whose data is no command this code knows. */
  kind: 'plan-change' | 'resource-order' | 'plan-change-cancel' | 'usage' | 'warning' | 'unknown';
  subject: string;
  /** The original message body, as received (text, since it may not be JSON). */
  payload: string;
  headers: Record<string, string>;
  requestId: string | null;
  clientAccountId: string | null;
  reason: DeadLetterReason;
  attempts: number;
  firstError: string;
  lastError: string;
  firstAt: string;
  lastAt: string;
  outbox: OutboxEntry[];
  /** Set by operators (`opensim dlq`); absent means open. A retried letter is kept, with who and when. */
  status?: 'retried' | 'discarded';
  retries?: number;
  retriedAt?: string;
  retriedBy?: string;
  discardedAt?: string;
  discardedBy?: string;
}

/** One operator action (`opensim dlq retry|discard`), shown by `opensim audit`. */
export interface AuditDocument {
  _id: string;
  at: string;
  by: string;
  action: string;
  /** The dead letters (or other objects) acted on. */
  ids: string[];
  /** The filters of an `--all` action, as given. */
  filters: Record<string, string>;
  /** Per id: what came of it (`retried`, `skipped: …`, `error: …`). */
  results: Record<string, string>;
}

export const DECIDED_REQUEST_IDS_KEPT = 200;

/**
 * A scheduled change waiting for its `effectiveAt`, found without scanning the lines: written
 * before the line commits the schedule, removed once it is applied, rejected or cancelled. The
 * line is the truth; a marker whose line holds no such change is simply removed.
 */
export interface ScheduledMarker {
  _id: string; // requestId
  lineId: string;
  clientAccountId: string;
  effectiveAt: string;
}

export function requestKey(kind: RequestDocument['kind'], id: string): string {
  return `${kind}:${id}`;
}

export interface Collections {
  products: Collection<ProductDocument>;
  services: Collection<ServiceDocument>;
  resources: Collection<ResourceDocument>;
  lines: Collection<LineDocument>;
  requests: Collection<RequestDocument>;
  deadLetters: Collection<DeadLetterDocument>;
  /** One document per one-time data migration done (store/migrations.ts). */
  migrations: Collection<{ _id: string; doneAt: string }>;
  /** One marker per scheduled change not yet applied, rejected or cancelled (scheduled-markers.ts). */
  scheduledChanges: Collection<ScheduledMarker>;
  audit: Collection<AuditDocument>;
  usage: Collection<UsageClaimDocument>;
  usageAttempts: Collection<UsageAttemptDocument>;
  lineMonths: Collection<LineMonthDocument>;
  notifications: Collection<NotificationDocument>;
  /** One marker per write whose events are not published yet (outbox-markers.ts): what the relay sweeps. */
  outboxMarkers: Collection<OutboxMarker>;
  /** One marker per line whose `usage.updated` may be held back (notice-markers.ts): what the notice sweep reads. */
  noticeMarkers: Collection<NoticeMarker>;
  /** Per intake partition, the stream sequence up to which every command has its outcome here (intake-checkpoints.ts). */
  intakeCheckpoints: Collection<IntakeCheckpointDocument>;
}

/**
 * The durable watermark of one intake partition (its durable consumer's name): every command of
 * the partition up to stream sequence `seq` has its outcome in MongoDB (a decision record, or a
 * dead letter written before the intake passed it). What Redis loses after it is taken in again.
 */
export interface IntakeCheckpointDocument {
  _id: string;
  seq: number;
  at: string;
}

export function collections(db: Db): Collections {
  return {
    products: db.collection<ProductDocument>('products'),
    services: db.collection<ServiceDocument>('services'),
    resources: db.collection<ResourceDocument>('resources'),
    lines: db.collection<LineDocument>('lines'),
    requests: db.collection<RequestDocument>('requests'),
    deadLetters: db.collection<DeadLetterDocument>('deadLetters'),
    migrations: db.collection<{ _id: string; doneAt: string }>('migrations'),
    scheduledChanges: db.collection<ScheduledMarker>('scheduledChanges'),
    audit: db.collection<AuditDocument>('audit'),
    usage: db.collection<UsageClaimDocument>('usage'),
    usageAttempts: db.collection<UsageAttemptDocument>('usageAttempts'),
    lineMonths: db.collection<LineMonthDocument>('lineMonths'),
    notifications: db.collection<NotificationDocument>('notifications'),
    outboxMarkers: db.collection<OutboxMarker>('outboxMarkers'),
    noticeMarkers: db.collection<NoticeMarker>('noticeMarkers'),
    intakeCheckpoints: db.collection<IntakeCheckpointDocument>('intakeCheckpoints'),
  };
}

/**
 * Unique indexes on exactly the keys of each guarded write's filter. MongoDB finds the document
 * by `_id` either way; the MongoDB-wire test server uses an index only when the filter has
 * exactly its keys, and otherwise scans the collection: a guarded write cost O(lines) there
 * (18 writes/s at 40,000 lines, 610/s with the index; docs/testing.md).
 */
export const GUARD_INDEXES = {
  lines: [{ _id: 1, version: 1 }],
  // `pv`: the projection's compare-and-set (resource-projection.ts).
  resources: [{ _id: 1, lineId: 1 }, { _id: 1, state: 1 }, { _id: 1, pv: 1 }],
  lineMonths: [{ _id: 1, version: 1 }],
  // A notice marker is removed (or moved) only while it has the token its remover knows.
  noticeMarkers: [{ _id: 1, token: 1 }],
} as const;

/** Indexes the queries need; idempotent, run at start. */
export async function ensureIndexes(c: Collections): Promise<void> {
  await Promise.all([
    ...Object.entries(GUARD_INDEXES).flatMap(([name, keys]) => keys.map((key) => c[name as keyof typeof GUARD_INDEXES].createIndex(key, { unique: true }))),
    // One holder per resource, enforced by MongoDB on the line's own guarded write.
    c.lines.createIndex({ holds: 1 }, { unique: true, sparse: true }),
    c.lines.createIndex({ clientAccountId: 1 }),
    c.resources.createIndex({ serviceRef: 1 }),
    // Dead letters are few and their outboxes are not marked: the relay still queries them.
    c.deadLetters.createIndex({ 'outbox.event.time': 1 }),
    c.deadLetters.createIndex({ clientAccountId: 1, lastAt: -1 }),
    c.audit.createIndex({ at: -1 }),
    c.lines.createIndex({ 'month.month': 1 }),
    c.notifications.createIndex({ lineId: 1, at: 1 }),
    // What the sweeps look for (small collections: pending work only).
    c.outboxMarkers.createIndex({ at: 1 }),
    c.noticeMarkers.createIndex({ dueAt: 1 }),
  ]);
}
