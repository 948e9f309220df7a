import type { OutboxPublisher } from '../outbox/outbox.js';
import type { Clock } from '../runtime/clock.js';
import type { SweepSchedule } from '../runtime/sweep-schedule.js';
import type { Collections, ScheduledMarker } from '../store/documents.js';
import type { References } from '../store/plan-change-store.js';
import type { CommandQueues } from '../queues/command-queue-client.js';

/** What the roles of one process share, built once the connections exist (see roles.ts). */
export interface Pipeline {
  readonly collections: Collections;
  readonly queues: CommandQueues;
  readonly outbox: OutboxPublisher;
  /** Products and services, cached briefly (reference data read by every job). */
  readonly references: References;
  /** "Now" of every decision (tests run a plan change on the 15th, a rollover at the month boundary). */
  readonly clock: Clock;
  /** When outboxes left behind are worth sweeping for (see SweepSchedule). */
  readonly outboxSweeps: SweepSchedule;
  /** When held-back `usage.updated` notices are due. */
  readonly noticeSweeps: SweepSchedule;
  /**
   * Resolves once the indexes and one-time migrations are in place. Plan changes wait for it:
   * the unique index on the resources lines hold is what keeps two lines off one resource.
   */
  readonly schemaReady: Promise<void>;
  /** Sets a scheduled change's trigger; set by the scheduler role where it runs (else the sweep of one that does finds the change). */
  triggerDue?: (marker: ScheduledMarker) => Promise<void>;
}
