import { describe, expect, it } from 'vitest';
import { orderResource, type OrderResourceCommand, type OrderResourceState } from './order-resource.js';
import { ACME, FIVE, GLOBEX, TWENTY, resource } from './spec-support.js';

const command = (overrides: Partial<OrderResourceCommand> = {}): OrderResourceCommand => ({
  orderId: 'ord-1',
  clientAccountId: 'ACME',
  serviceRef: ACME.serviceRef,
  resourceId: 'R-5',
  productRef: FIVE.productRef,
  orderedAt: '2026-11-14T17:00:00+01:00',
  ...overrides,
});
const state = (overrides: Partial<OrderResourceState> = {}): OrderResourceState => ({ existing: null, service: ACME, product: FIVE, decidedOrderIds: [], ...overrides });

describe('orderResource', () => {
  it('given a service of the account and a known product, when a plan is ordered, then it becomes an available resource of the service', () => {
    const result = orderResource(command(), state());
    expect(result).toEqual({
      outcome: 'applied',
      created: true,
      resource: { resourceId: 'R-5', serviceRef: ACME.serviceRef, productRef: FIVE.productRef, state: 'available', orderId: 'ord-1', orderedAt: '2026-11-14T16:00:00.000Z' },
      events: [
        {
          key: 'resource-order:ord-1:applied',
          type: 'opensim.resource-order.applied',
          subjectKind: 'resource-order',
          data: { orderId: 'ord-1', clientAccountId: 'ACME', serviceRef: ACME.serviceRef, resourceId: 'R-5', productRef: FIVE.productRef, orderedAt: '2026-11-14T17:00:00+01:00', state: 'available' },
        },
      ],
    });
  });

  it.each([
    ['the order id was already decided', state({ decidedOrderIds: ['ord-1'] })],
    ['the resource was created by this order', state({ existing: { ...resource('R-5', FIVE.productRef), orderId: 'ord-1' } })],
  ])('given %s, when the order arrives again, then nothing changes (duplicate)', (_, given) => {
    expect(orderResource(command(), given)).toEqual({ outcome: 'duplicate' });
  });

  it('given the resource exists with the same service and product, when a new order names it, then it is applied without change (an active resource stays active)', () => {
    const existing = resource('R-5', FIVE.productRef, 'active');
    const result = orderResource(command({ orderId: 'ord-2' }), state({ existing }));
    expect(result).toMatchObject({ outcome: 'applied', created: false, resource: existing });
  });

  it.each([
    ['no such service', command(), state({ service: null }), 'UNKNOWN_SERVICE'],
    ['a service of another account', command({ serviceRef: GLOBEX.serviceRef }), state({ service: GLOBEX }), 'TENANT_MISMATCH'],
    ['no such product', command({ productRef: 'NOPE' }), state({ product: null }), 'UNKNOWN_PRODUCT'],
    ['the resource id used for another product', command(), state({ existing: resource('R-5', TWENTY.productRef) }), 'RESOURCE_CONFLICT'],
    ['the resource id used in another service', command(), state({ existing: resource('R-5', FIVE.productRef, 'available', 'SRV-X') }), 'RESOURCE_CONFLICT'],
    ['unknown service and unknown product: the service is reported', command(), state({ service: null, product: null }), 'UNKNOWN_SERVICE'],
    ['another account and a conflict: the tenant is reported', command(), state({ service: GLOBEX, existing: resource('R-5', TWENTY.productRef) }), 'TENANT_MISMATCH'],
  ] as const)('given %s, when ordered, then rejected with %s', (_, cmd, given, reason) => {
    const result = orderResource(cmd, given);
    if (result.outcome !== 'rejected') throw new Error(`expected a rejection, got ${result.outcome}`);
    expect(result.reason).toBe(reason);
    expect(result.events).toEqual([
      {
        key: 'resource-order:ord-1:rejected',
        type: 'opensim.resource-order.rejected',
        subjectKind: 'resource-order',
        data: { orderId: 'ord-1', clientAccountId: 'ACME', resourceId: 'R-5', reason, message: result.message },
      },
    ]);
  });
});
