import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFixture } from './fixture.js';

const catalog = JSON.parse(readFileSync(new URL('../../fixtures/catalog.json', import.meta.url), 'utf8')) as { products: Record<string, unknown>[] };
const product = catalog.products[0]!;
const service = { serviceRef: 'SRV-1', clientAccountId: 'ACME' };
const activeResource = { resourceId: 'R-1', serviceRef: 'SRV-1', productRef: product.productRef, state: 'active' };
const line = { lineId: 'L1', serviceRef: 'SRV-1', state: 'active', activatedAt: '2026-10-01T00:00:00+02:00', activeResourceId: 'R-1' };

describe('parseFixture', () => {
  it('given the shipped catalog, when parsed, then the four products of the source are accepted, other lists default to empty', () => {
    const result = parseFixture({ products: catalog.products });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.fixture.products.map((p) => [p.productRef, p.category])).toEqual([
      ['FPC367678', 'DATA_PLUS_PER_GB'],
      ['FPC367679', 'DATA_PLUS_PER_GB'],
      ['FPC367680', 'DATA_ONLY'],
      ['FPC367679-COMPTEUR', 'VOICE_DATA_METERED'],
    ]);
    expect(result.fixture).toMatchObject({ services: [], resources: [], lines: [] });
  });

  it('given a full consistent fixture, when parsed, then it is accepted', () => {
    expect(parseFixture({ products: [product], services: [service], resources: [activeResource], lines: [line] }).ok).toBe(true);
  });

  it('given several bad entries, when parsed, then the whole file is refused with one message per bad entry, each naming it', () => {
    const result = parseFixture({
      products: [product, { ...product, productRef: 'X', category: 'VOICE' }, { ...product, productRef: 'Y', dataAllowanceBytes: -1 }],
      services: [{ serviceRef: 'SRV-1', clientAccountId: 'bad account!' }],
      lines: [{ ...line, activatedAt: '2026-10-01' }],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(4);
    expect(result.errors[0]).toMatch(/^products\[1\]\.category: /);
    expect(result.errors[1]).toMatch(/^products\[2\]\.dataAllowanceBytes: /);
    expect(result.errors[2]).toBe('services[0].clientAccountId: must match ^[A-Za-z0-9_-]{1,64}$');
    expect(result.errors[3]).toMatch(/^lines\[0\]\.activatedAt: must be an RFC 3339 timestamp with an offset/);
  });

  it.each([
    ['a metered product with an allowance', { products: [{ ...product, category: 'VOICE_DATA_METERED' }] }, 'products[0].dataAllowanceBytes: must be null for a VOICE_DATA_METERED product (no envelope)'],
    ['a bundled product without allowance', { products: [{ ...product, dataAllowanceBytes: null }] }, 'products[0].dataAllowanceBytes: must be a number of bytes for a DATA_PLUS_PER_GB product'],
    ['an unknown field', { products: [{ ...product, price: 3 }] }, 'products[0]: Unrecognized key: "price"'],
    ['not an object', [], '(file): '],
    ['a duplicate product', { products: [product, product] }, "products[1].productRef: 'FPC367678' is already used by products[0]"],
  ])('given %s, when parsed, then it is refused', (_, json, message) => {
    const result = parseFixture(json);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(message);
  });

  it('given references that do not resolve in the file, when parsed, then each is named', () => {
    const result = parseFixture({
      products: [product],
      services: [service],
      resources: [
        { ...activeResource, serviceRef: 'SRV-X', productRef: 'P-X' },
        { resourceId: 'R-2', serviceRef: 'SRV-1', productRef: product.productRef, state: 'available' },
        { resourceId: 'R-3', serviceRef: 'SRV-1', productRef: product.productRef, state: 'active' },
      ],
      lines: [
        line,
        { ...line, lineId: 'L2', serviceRef: 'SRV-Y', activeResourceId: 'R-404' },
        { ...line, lineId: 'L3', activeResourceId: 'R-2' },
        { ...line, lineId: 'L4', activeResourceId: 'R-3' },
        { ...line, lineId: 'L5', activeResourceId: 'R-3' },
      ],
    });
    expect(result.ok ? [] : result.errors).toEqual([
      "resources[0].serviceRef: unknown service 'SRV-X'",
      "resources[0].productRef: unknown product 'P-X'",
      "lines[0].activeResourceId: resource 'R-1' belongs to service 'SRV-X', not 'SRV-1'",
      "lines[1].serviceRef: unknown service 'SRV-Y'",
      "lines[1].activeResourceId: unknown resource 'R-404'",
      "lines[2].activeResourceId: resource 'R-2' is available, must be active",
      "lines[4].activeResourceId: resource 'R-3' is already active on lines[3]",
    ]);
  });

  it('given references to data seeded earlier, when parsed with references off, then the file is accepted', () => {
    expect(parseFixture({ products: [], resources: [activeResource], lines: [line] }, { references: false }).ok).toBe(true);
  });
});
