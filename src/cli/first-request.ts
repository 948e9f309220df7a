import type { Collections } from '../store/documents.js';

/** The flags of a plan change that the data allows: an active line and a spare resource of its category. */
export interface FirstRequest {
  account: string;
  service: string;
  line: string;
  target: string;
}

/**
 * A plan change that would be applied, found in the database (read only), for the hint that
 * `npm start` prints: the seeded source document's line and its 5 GiB spare the first time, the
 * resource it left the next time.
 */
export async function suggestFirstRequest(c: Collections): Promise<FirstRequest | undefined> {
  const lines = await c.lines.find({ 'line.state': 'active' }, { projection: { clientAccountId: 1, serviceRef: 1, 'line.activeResourceId': 1 } }).limit(20).toArray();
  for (const line of lines) {
    const current = await c.resources.findOne({ _id: line.line.activeResourceId });
    if (!current) continue;
    const spares = await c.resources.find({ serviceRef: line.serviceRef, state: 'available' }).limit(50).toArray();
    const products = await c.products.find({ _id: { $in: [current.productRef, ...spares.map((r) => r.productRef)] } }).toArray();
    const category = new Map(products.map((p) => [p._id, p.category]));
    const target = spares.find((r) => r.productRef !== current.productRef && category.get(r.productRef) === category.get(current.productRef));
    if (target) return { account: line.clientAccountId, service: line.serviceRef, line: line._id, target: target._id };
  }
  return undefined;
}

/** The command line of the hint, with the variables `opensim request` needs when they are not the defaults. */
export function requestCommand(request: FirstRequest | undefined, env: Record<string, string>): string {
  const prefix = Object.entries(env)
    .map(([name, value]) => `${name}=${quote(value)} `)
    .join('');
  if (!request) return `${prefix}npx opensim request plan-change --account <id> --service <ref> --line <id> --target <resource id>`;
  return `${prefix}npx opensim request plan-change --account ${quote(request.account)} --service ${quote(request.service)} --line ${quote(request.line)} --target ${quote(request.target)}`;
}

function quote(value: string): string {
  return /^[\w.:@/%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
