import type { Instant } from './calendar.js';
import type { ProductCatalog, Resource, Service } from './catalog.js';
import type { Line } from './line.js';
import type { LineMonth } from './line-month.js';

/** A plan-change request as the domain takes it, and the state it is decided on (change-plan.ts). */
export interface ChangePlanCommand {
  requestId: string;
  clientAccountId: string;
  serviceRef: string;
  lineId: string;
  targetResourceId: string;
  requestedAt: Instant;
  requestedBy?: string;
  /** When the change should take effect; absent, or at or before `now`, means at once. */
  effectiveAt?: Instant;
}

/** Everything the decision needs, loaded by the adapter. */
export interface ChangePlanState {
  line: Line | null;
  /** At least the line's service and the service named by the request, when they exist. */
  services: Readonly<Record<string, Service>>;
  /** The line's active resource. */
  currentResource: Resource | null;
  /** Its `state` says which line holds it and how (`resourceStateOn`): `available` if none does. */
  targetResource: Resource | null;
  products: ProductCatalog;
  /** The line's latest month record at or before the month of `now`, `null` if none. */
  month: LineMonth | null;
  /** Request ids already decided (applied, rejected or scheduled) for this line; only `command.requestId` matters. */
  decidedRequestIds: readonly string[];
}
