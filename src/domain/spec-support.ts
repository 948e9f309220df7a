/**
 * Givens shared by the domain specs: the catalogue of the source document, one client account
 * (ACME) with a line on the 20 GiB plan since October 2026, and another account (GLOBEX).
 */
import { normaliseInstant } from './calendar.js';
import type { Product, ProductCatalog, Resource, Service } from './catalog.js';
import type { ChangePlanCommand, ChangePlanState } from './change-plan.js';
import type { DomainEvent, EventType } from './events.js';
import { registerLine, type Line } from './line.js';
import { openMonth, type LineMonth } from './line-month.js';
import type { RecordUsageCommand, RecordUsageState } from './usage.js';

export const GiB = 2 ** 30;

function product(productRef: string, label: string, category: Product['category'], allowanceGiB: number | null, costCapCents: number | null): Product {
  const allowance = allowanceGiB === null ? null : allowanceGiB * GiB;
  return {
    productRef,
    label,
    category,
    dataAllowanceBytes: allowance,
    reductionThresholdBytes: allowance === null ? 8 * GiB : (allowance * 4) / 5,
    blockThresholdBytes: allowanceGiB === null ? 10 * GiB : allowance,
    costCapCents,
  };
}

export const FIVE = product('FPC367678', 'Forfait mobile 5 Go', 'DATA_PLUS_PER_GB', 5, 3000);
export const TWENTY = product('FPC367679', 'Forfait mobile Data 20 Go', 'DATA_PLUS_PER_GB', 20, 5000);
export const DATA_ONLY = product('FPC367680', 'Forfait mobile Data only 20 Go', 'DATA_ONLY', 20, null);
export const METERED = product('FPC367679-COMPTEUR', 'Forfait mobile Data compteur', 'VOICE_DATA_METERED', null, 5000);
export const METERED_BIS = product('METERED-BIS', 'Compteur bis', 'VOICE_DATA_METERED', null, 8000);
export const TEN = product('FPC-10', 'Forfait mobile 10 Go', 'DATA_PLUS_PER_GB', 10, 4000);

export const products: ProductCatalog = Object.fromEntries([FIVE, TWENTY, DATA_ONLY, METERED, METERED_BIS, TEN].map((p) => [p.productRef, p]));

export const ACME: Service = { serviceRef: 'SRV-ACME', clientAccountId: 'ACME', site: 'Paris' };
export const ACME_OTHER: Service = { serviceRef: 'SRV-ACME-2', clientAccountId: 'ACME' };
export const GLOBEX: Service = { serviceRef: 'SRV-GLOBEX', clientAccountId: 'GLOBEX' };
export const services: Record<string, Service> = { [ACME.serviceRef]: ACME, [ACME_OTHER.serviceRef]: ACME_OTHER, [GLOBEX.serviceRef]: GLOBEX };

export function resource(resourceId: string, productRef: string, state: Resource['state'] = 'available', serviceRef = ACME.serviceRef): Resource {
  return { resourceId, serviceRef, productRef, state };
}

export const ACTIVATED_AT = '2026-10-01T00:00:00+02:00';

/** ACME's line L1, active on R-20 (20 GiB) since 1 October 2026. */
export function aLine(overrides: Partial<Line> = {}): Line {
  return { ...registerLine({ lineId: 'L1', serviceRef: ACME.serviceRef, state: 'active', activatedAt: ACTIVATED_AT, activeResourceId: 'R-20' }, resource('R-20', TWENTY.productRef, 'active')), ...overrides };
}

export function aMonth(line: Line, month: string, usage: Partial<LineMonth['usage']> = {}): LineMonth {
  const record = openMonth({ lineId: line.lineId, clientAccountId: ACME.clientAccountId, planHistory: line.planHistory, products }, month);
  return { ...record, usage: { ...record.usage, ...usage } };
}

export function aChangePlanCommand(overrides: Partial<ChangePlanCommand> = {}): ChangePlanCommand {
  return {
    requestId: 'req-1',
    clientAccountId: 'ACME',
    serviceRef: ACME.serviceRef,
    lineId: 'L1',
    targetResourceId: 'R-5',
    requestedAt: '2026-11-15T09:59:00+01:00',
    ...overrides,
  };
}

/** 1 December 2026, 00:00 Paris: the start of next month for the specs' 15 November. */
export const DEC_1 = '2026-12-01T00:00:00+01:00';

/** L1 with `aChangePlanCommand()` scheduled for `effectiveAt` (R-5 reserved), as `changePlan` leaves it on 15 November. */
export function aScheduledLine(effectiveAt = DEC_1, overrides: Partial<Line> = {}): Line {
  return {
    ...aLine(),
    scheduledChange: {
      requestId: 'req-1',
      clientAccountId: 'ACME',
      serviceRef: ACME.serviceRef,
      to: { resourceId: 'R-5', productRef: FIVE.productRef },
      effectiveAt: normaliseInstant(effectiveAt),
      requestedAt: '2026-11-15T09:59:00+01:00',
      scheduledAt: '2026-11-15T09:00:00.000Z',
    },
    ...overrides,
  };
}

/** The state an adapter would load for `aChangePlanCommand()` targeting `target`. */
export function aChangePlanState(overrides: Partial<ChangePlanState> = {}): ChangePlanState {
  const line = aLine();
  return {
    line,
    services,
    currentResource: resource('R-20', TWENTY.productRef, 'active'),
    targetResource: resource('R-5', FIVE.productRef),
    products,
    month: aMonth(line, '2026-11'),
    decidedRequestIds: [],
    ...overrides,
  };
}

export function aUsage(overrides: Partial<RecordUsageCommand> = {}): RecordUsageCommand {
  return { usageId: 'u-1', clientAccountId: 'ACME', lineId: 'L1', zone: 'FR', bytes: GiB, occurredAt: '2026-11-10T12:00:00+01:00', ...overrides };
}

export function aUsageState(overrides: Partial<RecordUsageState> = {}): RecordUsageState {
  const line = aLine();
  return { line, service: ACME, products, month: aMonth(line, '2026-11'), recordedUsageIds: [], ...overrides };
}

/** The events of one type among `events`, with their `data` typed. */
export function eventsOfType<T extends EventType>(events: readonly DomainEvent[], type: T): Extract<DomainEvent, { type: T }>[] {
  return events.filter((event): event is Extract<DomainEvent, { type: T }> => event.type === type);
}
