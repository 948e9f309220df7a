/**
 * Markers: small documents that say where work is pending, so that sweeps find it without
 * scanning the lines (the MongoDB-wire test server uses an index only for exact unique keys,
 * docs/testing.md). The document each one points at is the truth; a marker is a hint, written
 * before that document's write and removed after. See outbox-markers.ts and notice-markers.ts.
 */

/** The collections whose outboxes are marked (dead letters are few: the relay still queries them). */
export type MarkedCollection = 'lines' | 'requests' | 'resources' | 'lineMonths';

/** `outboxMarkers`: one per write that appended events to an outbox, until they are published. */
export interface OutboxMarker {
  /** `<collection>|<docId>|<uuid>`: each write its own, so removing one never removes another writer's. */
  _id: string;
  collection: MarkedCollection;
  docId: string;
  /** The events the write appended. */
  events: string[];
  /** When it was written: the sweep takes the markers older than its grace. */
  at: string;
}

/** What a publisher needs to remove a marker. */
export interface MarkerRef {
  _id: string;
}

/** `noticeMarkers`: one per line whose `usage.updated` may be held back (`usageNotice.dueAt`). */
export interface NoticeMarker {
  _id: string; // lineId
  /** Never later than the line's `usageNotice.dueAt`. */
  dueAt: string;
  token: string;
}
