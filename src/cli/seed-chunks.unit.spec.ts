import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFixture, type Fixture } from '../contract/fixture.js';
import { entriesOf, seedChunks } from './seed-chunks.js';

const source = JSON.parse(readFileSync(new URL('../../fixtures/source-document.json', import.meta.url), 'utf8')) as Fixture;

/** Two services, seven lines each on its own resource, three spare resources. */
function fleet(): Fixture {
  const services = ['S1', 'S2'].map((serviceRef) => ({ serviceRef, clientAccountId: `CA-${serviceRef}` }));
  const lines = Array.from({ length: 7 }, (_, i) => ({ lineId: `L${i}`, serviceRef: i % 2 ? 'S2' : 'S1', state: 'active' as const, activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: `R${i}` }));
  const resources = [
    ...lines.map((l) => ({ resourceId: l.activeResourceId, serviceRef: l.serviceRef, productRef: 'FPC367679', state: 'active' as const })),
    ...['X1', 'X2', 'X3'].map((resourceId) => ({ resourceId, serviceRef: 'S1', productRef: 'FPC367678', state: 'available' as const })),
  ];
  return { products: source.products, services, resources, lines };
}

describe('seeding a large file in pieces', () => {
  it('cuts it into pieces that are each a valid fixture, given the products the first one writes', () => {
    const whole = fleet();
    for (const chunk of seedChunks(whole, 3)) expect(parseFixture({ ...chunk, products: whole.products }).ok).toBe(true);
  });

  it('writes every product, resource and line exactly once, and every service at least once', () => {
    const whole = fleet();
    const chunks = seedChunks(whole, 3);
    expect(chunks.map((c) => c.lines.length)).toEqual([3, 3, 1]);
    const all = (pick: (c: Fixture) => { [k: string]: unknown }[], key: string) => chunks.flatMap(pick).map((e) => e[key]);
    expect(all((c) => c.products, 'productRef').sort()).toEqual(whole.products.map((p) => p.productRef).sort());
    expect(all((c) => c.resources, 'resourceId').sort()).toEqual(whole.resources.map((r) => r.resourceId).sort());
    expect(all((c) => c.lines, 'lineId')).toEqual(whole.lines.map((l) => l.lineId));
    expect(chunks[0]!.services).toEqual(whole.services);
    expect(chunks[2]!.services.map((s) => s.serviceRef)).toEqual(['S1']);
    expect(entriesOf(whole)).toBe(whole.products.length + 2 + 10 + 7);
  });

  it('keeps a file without lines, or a small one, in one piece', () => {
    expect(seedChunks({ ...source, lines: [], resources: source.resources.map((r) => ({ ...r, state: 'available' as const })) })).toHaveLength(1);
    expect(seedChunks(source)).toEqual([{ ...source, resources: [...source.resources.filter((r) => r.state !== 'active'), ...source.resources.filter((r) => r.state === 'active')] }]);
  });
});
