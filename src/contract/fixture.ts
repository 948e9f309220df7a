import { z } from 'zod';
import { CATEGORIES, type ResourceState } from '../domain/catalog.js';
import { isInstant } from '../domain/calendar.js';
import { LINE_STATES } from '../domain/line.js';

/**
 * The fixture file of CONTRACT.md (`opensim seed <file>`, `opensim envelope --catalog <file>`).
 * Validation is all or nothing: `parseFixture` returns the typed fixture, or every problem found,
 * each naming its entry (`products[2].category: …`). Besides the schema it checks keys are unique
 * and, unless told otherwise, that references resolve inside the file.
 */

const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match ^[A-Za-z0-9_-]{1,64}$');
const reference = z.string().min(1, 'must not be empty').max(128);
const bytes = z.int().nonnegative();
const instant = z.string().refine(isInstant, 'must be an RFC 3339 timestamp with an offset, e.g. 2026-10-01T00:00:00+02:00');

export const productSchema = z
  .object({
    productRef: reference,
    label: z.string().min(1, 'must not be empty'),
    category: z.enum(CATEGORIES),
    dataAllowanceBytes: bytes.nullable(),
    reductionThresholdBytes: bytes.nullable(),
    blockThresholdBytes: bytes.nullable(),
    costCapCents: bytes.nullable(),
    monthlyPriceCents: bytes.optional(),
  })
  .strict()
  .superRefine((product, ctx) => {
    const metered = product.category === 'VOICE_DATA_METERED';
    if (metered !== (product.dataAllowanceBytes === null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['dataAllowanceBytes'],
        message: metered ? 'must be null for a VOICE_DATA_METERED product (no envelope)' : `must be a number of bytes for a ${product.category} product`,
      });
    }
  });

export const serviceSchema = z
  .object({
    serviceRef: reference,
    clientAccountId: token,
    clientName: z.string().optional(),
    site: z.string().optional(),
    state: z.string().optional(),
  })
  .strict();

/** CONTRACT.md's fixture states: a reservation belongs to a line's scheduled change, never to a fixture. */
const SEEDED_RESOURCE_STATES = ['available', 'active'] as const satisfies readonly ResourceState[];

export const resourceSchema = z
  .object({
    resourceId: reference,
    serviceRef: reference,
    productRef: reference,
    state: z.enum(SEEDED_RESOURCE_STATES),
  })
  .strict();

export const lineSchema = z
  .object({
    lineId: token,
    serviceRef: reference,
    msisdn: z.string().optional(),
    iccid: z.string().optional(),
    rio: z.string().optional(),
    user: z.string().optional(),
    state: z.enum(LINE_STATES),
    activatedAt: instant,
    activeResourceId: reference,
  })
  .strict();

export const fixtureSchema = z
  .object({
    products: z.array(productSchema),
    services: z.array(serviceSchema).default([]),
    resources: z.array(resourceSchema).default([]),
    lines: z.array(lineSchema).default([]),
  })
  .strict();

export type Fixture = z.infer<typeof fixtureSchema>;
export type FixtureProduct = z.infer<typeof productSchema>;
export type FixtureService = z.infer<typeof serviceSchema>;
export type FixtureResource = z.infer<typeof resourceSchema>;
export type FixtureLine = z.infer<typeof lineSchema>;

export type ParseFixtureResult = { ok: true; fixture: Fixture } | { ok: false; errors: string[] };

export interface ParseFixtureOptions {
  /** Check that services, resources and products referenced exist in the same file (default true). */
  references?: boolean;
}

export function parseFixture(json: unknown, options: ParseFixtureOptions = {}): ParseFixtureResult {
  const parsed = fixtureSchema.safeParse(json);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => `${pathOf(issue.path)}: ${issue.message}`) };
  const fixture = parsed.data;
  const errors = [...duplicateKeys(fixture), ...(options.references === false ? [] : unresolvedReferences(fixture))];
  return errors.length > 0 ? { ok: false, errors } : { ok: true, fixture };
}

function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(file)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

function duplicateKeys(fixture: Fixture): string[] {
  return [
    ...duplicatesOf('products', fixture.products, 'productRef'),
    ...duplicatesOf('services', fixture.services, 'serviceRef'),
    ...duplicatesOf('resources', fixture.resources, 'resourceId'),
    ...duplicatesOf('lines', fixture.lines, 'lineId'),
  ];
}

function duplicatesOf<T, K extends keyof T & string>(list: string, entries: readonly T[], key: K): string[] {
  const firstIndex = new Map<unknown, number>();
  const errors: string[] = [];
  entries.forEach((entry, index) => {
    const first = firstIndex.get(entry[key]);
    if (first === undefined) firstIndex.set(entry[key], index);
    else errors.push(`${list}[${index}].${key}: '${String(entry[key])}' is already used by ${list}[${first}]`);
  });
  return errors;
}

function unresolvedReferences(fixture: Fixture): string[] {
  const products = new Set(fixture.products.map((p) => p.productRef));
  const services = new Set(fixture.services.map((s) => s.serviceRef));
  const resources = new Map(fixture.resources.map((r) => [r.resourceId, r]));
  const usedBy = new Map<string, number>();
  const errors: string[] = [];
  fixture.resources.forEach((resource, i) => {
    if (!services.has(resource.serviceRef)) errors.push(`resources[${i}].serviceRef: unknown service '${resource.serviceRef}'`);
    if (!products.has(resource.productRef)) errors.push(`resources[${i}].productRef: unknown product '${resource.productRef}'`);
  });
  fixture.lines.forEach((line, i) => {
    if (!services.has(line.serviceRef)) errors.push(`lines[${i}].serviceRef: unknown service '${line.serviceRef}'`);
    const resource = resources.get(line.activeResourceId);
    const where = `lines[${i}].activeResourceId`;
    if (!resource) errors.push(`${where}: unknown resource '${line.activeResourceId}'`);
    else if (resource.serviceRef !== line.serviceRef) errors.push(`${where}: resource '${resource.resourceId}' belongs to service '${resource.serviceRef}', not '${line.serviceRef}'`);
    else if (resource.state !== 'active') errors.push(`${where}: resource '${resource.resourceId}' is ${resource.state}, must be active`);
    const other = usedBy.get(line.activeResourceId);
    if (other !== undefined) errors.push(`${where}: resource '${line.activeResourceId}' is already active on lines[${other}]`);
    else usedBy.set(line.activeResourceId, i);
  });
  fixture.resources.forEach((resource, i) => {
    if (resource.state === 'active' && !usedBy.has(resource.resourceId)) errors.push(`resources[${i}].state: active but no line of the file uses it`);
  });
  return errors;
}
