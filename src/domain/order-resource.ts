/**
 * orderResource — an ordered plan becomes an `available` resource of its service
 * (source: "vous devez au préalable passer une commande du forfait souhaité").
 *
 * Check order:
 *   0. duplicate          the orderId was already decided, or the resource was created by it
 *   1. UNKNOWN_SERVICE    no such service
 *   2. TENANT_MISMATCH    the service belongs to another client account
 *   3. UNKNOWN_PRODUCT    no such product sheet
 *   4. RESOURCE_CONFLICT  the resourceId exists with another service or product
 * A new order for a resource that already exists with the same service and product is applied
 * without changing it (re-ordering is idempotent; an active resource stays active).
 */
import { normaliseInstant, type Instant } from './calendar.js';
import type { Product, Resource, Service } from './catalog.js';
import { domainEvent, eventKeys, resourceOrderRejected, type DomainEvent } from './events.js';
import type { ResourceOrderReason } from './reasons.js';

export interface OrderResourceCommand {
  orderId: string;
  clientAccountId: string;
  serviceRef: string;
  resourceId: string;
  productRef: string;
  orderedAt: Instant;
}

export interface OrderResourceState {
  /** The resource with `command.resourceId`, if any. */
  existing: Resource | null;
  /** The service `command.serviceRef`, if any. */
  service: Service | null;
  /** The product `command.productRef`, if any. */
  product: Product | null;
  /** Order ids already decided; only `command.orderId` matters. */
  decidedOrderIds: readonly string[];
}

export type OrderResourceResult =
  | { outcome: 'applied'; resource: Resource; created: boolean; events: DomainEvent[] }
  | { outcome: 'rejected'; reason: Exclude<ResourceOrderReason, 'INVALID_PAYLOAD'>; message: string; events: DomainEvent[] }
  | { outcome: 'duplicate' };

type Rejected = Extract<OrderResourceResult, { outcome: 'rejected' }>;

export function orderResource(command: OrderResourceCommand, state: OrderResourceState): OrderResourceResult {
  const { existing, service, product } = state;
  if (state.decidedOrderIds.includes(command.orderId) || existing?.orderId === command.orderId) return { outcome: 'duplicate' };
  if (!service) return reject(command, 'UNKNOWN_SERVICE', `service '${command.serviceRef}' does not exist`);
  if (service.clientAccountId !== command.clientAccountId) {
    return reject(command, 'TENANT_MISMATCH', `service '${command.serviceRef}' does not belong to client account '${command.clientAccountId}'`);
  }
  if (!product) return reject(command, 'UNKNOWN_PRODUCT', `product '${command.productRef}' does not exist`);
  if (existing && (existing.serviceRef !== command.serviceRef || existing.productRef !== command.productRef)) {
    return reject(command, 'RESOURCE_CONFLICT', `resource '${command.resourceId}' already exists for service '${existing.serviceRef}' and product '${existing.productRef}'`);
  }
  const resource: Resource = existing ?? {
    resourceId: command.resourceId,
    serviceRef: command.serviceRef,
    productRef: command.productRef,
    state: 'available',
    orderId: command.orderId,
    orderedAt: normaliseInstant(command.orderedAt),
  };
  const event = domainEvent('opensim.resource-order.applied', eventKeys.resourceOrder(command.orderId, 'applied'), {
    orderId: command.orderId,
    clientAccountId: command.clientAccountId,
    serviceRef: resource.serviceRef,
    resourceId: resource.resourceId,
    productRef: resource.productRef,
    orderedAt: command.orderedAt,
    state: resource.state,
  });
  return { outcome: 'applied', resource, created: existing === null, events: [event] };
}

function reject(command: OrderResourceCommand, reason: Rejected['reason'], message: string): Rejected {
  const event = resourceOrderRejected({ orderId: command.orderId, clientAccountId: command.clientAccountId, resourceId: command.resourceId, reason, message });
  return { outcome: 'rejected', reason, message, events: [event] };
}
