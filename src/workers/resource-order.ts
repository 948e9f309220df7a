import { orderResource, eventKeys, type Instant, type Product, type Resource, type Service } from '../domain/index.js';
import type { ResourceOrder } from '../contract/messages.js';
import { requestKey } from '../store/documents.js';
import { appendResourceEvents, insertMarked } from '../store/marked-writes.js';
import { toRecord } from '../store/to-record.js';
import { entries, type Outcome, type WorkerDeps } from './plan-change.js';
import type { MarkerRef } from '../store/outbox-markers.js';

/**
 * One resource order. The resource and its `applied` event are one write (the resource
 * document carries its outbox); the request record that follows only speeds up duplicates.
 */
export async function processResourceOrder(deps: WorkerDeps, order: ResourceOrder, now: Instant): Promise<Outcome> {
  const { collections: c, outbox } = deps;
  const key = requestKey('resource-order', order.orderId);
  const decided = await c.requests.findOne({ _id: key });
  if (decided) {
    await outbox.flushQuietly(c.requests, key);
    return { outcome: 'duplicate' };
  }
  const [existing, service, product] = await Promise.all([
    c.resources.findOne({ _id: order.resourceId }),
    c.services.findOne({ _id: order.serviceRef }),
    c.products.findOne({ _id: order.productRef }),
  ]);
  const result = orderResource(order, {
    existing: toRecord(existing, ['lineId', 'outbox', 'pv']) as Resource | null,
    service: toRecord(service) as Service | null,
    product: toRecord(product) as Product | null,
    decidedOrderIds: [],
  });
  const record = async (outcome: 'applied' | 'rejected', reason: string | null, pending: ReturnType<typeof entries>) =>
    (await insertMarked(c, 'requests', { _id: key, kind: 'resource-order', clientAccountId: order.clientAccountId, lineId: null, outcome, reason, eventId: eventKeys.resourceOrder(order.orderId, outcome), decidedAt: now, outbox: pending })).markers;

  switch (result.outcome) {
    case 'duplicate':
      // The resource was created by this order before a crash: record it, publish what waits.
      await record('applied', null, []);
      await outbox.flushQuietly(c.resources, order.resourceId);
      return { outcome: 'duplicate' };
    case 'applied': {
      const pending = entries(deps.prefix, result.events, now);
      const markers = result.created ? await createResource(c, result.resource, pending) : await appendResourceEvents(c, result.resource.resourceId, pending);
      await record('applied', null, []);
      await outbox.flushQuietly(c.resources, order.resourceId, undefined, markers);
      return { outcome: 'applied' };
    }
    case 'rejected': {
      const markers = await record('rejected', result.reason, entries(deps.prefix, result.events, now));
      await outbox.flushQuietly(c.requests, key, undefined, markers);
      return { outcome: 'rejected', reason: result.reason };
    }
    default: {
      const unknown: never = result;
      throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

/** Created with its event; found there already (created meanwhile), the attempt fails and the retry decides on it. */
async function createResource(c: WorkerDeps['collections'], resource: Resource, pending: ReturnType<typeof entries>): Promise<MarkerRef[]> {
  const created = await insertMarked(c, 'resources', { _id: resource.resourceId, ...resource, lineId: null, outbox: pending });
  if (!created.inserted) throw new Error(`resource '${resource.resourceId}' was created meanwhile: decide again`);
  return created.markers;
}
