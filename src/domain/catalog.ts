/**
 * The catalogue and the tenant structure: products, client-account services, resources.
 * Plain JSON-serialisable records: adapters store and load them as they are.
 */

/** The three plan families of the OpenSIM offer; a line never moves between them. */
export const CATEGORIES = ['DATA_ONLY', 'VOICE_DATA_METERED', 'DATA_PLUS_PER_GB'] as const;
export type Category = (typeof CATEGORIES)[number];

/** A product sheet (`Réf. fiche produit`, FPC…). Byte amounts are integers; `null` when not applicable. */
export interface Product {
  productRef: string;
  label: string;
  category: Category;
  /** Full-month data allowance; `null` for metered products (no envelope). */
  dataAllowanceBytes: number | null;
  reductionThresholdBytes: number | null;
  blockThresholdBytes: number | null;
  costCapCents: number | null;
  monthlyPriceCents?: number;
}

/** Products indexed by `productRef`. */
export type ProductCatalog = Readonly<Record<string, Product>>;

/** A subscribed OpenSIM service of a client account (the tenant boundary). */
export interface Service {
  serviceRef: string;
  clientAccountId: string;
  clientName?: string;
  site?: string;
  state?: string;
}

/**
 * `available`: ordered, free; `active`: a line's current plan; `reserved`: the target of a line's
 * scheduled change, which no other line and no other change may take until it is applied,
 * rejected or cancelled.
 */
/** A plan as the events name it: the resource and its product. */
export interface PlanRef {
  resourceId: string;
  productRef: string;
}

export const RESOURCE_STATES = ['available', 'active', 'reserved'] as const;
export type ResourceState = (typeof RESOURCE_STATES)[number];

/** One ordered instance of a plan, attached to a service; `active` when it is a line's current plan. */
export interface Resource {
  resourceId: string;
  serviceRef: string;
  productRef: string;
  state: ResourceState;
  /** The order that created it; absent for resources loaded from a fixture. */
  orderId?: string;
  orderedAt?: string;
}

/** Thrown when loaded state breaks an invariant the adapters guarantee (a bug or corrupt data, never a rule). */
export class InconsistentStateError extends Error {
  readonly code = 'INCONSISTENT_STATE';
  override readonly name = 'InconsistentStateError';
}

/** The product of `productRef`, or an `InconsistentStateError`: every stored reference must resolve. */
export function productOf(products: ProductCatalog, productRef: string): Product {
  const product = products[productRef];
  if (!product) throw new InconsistentStateError(`product '${productRef}' is not in the catalogue`);
  return product;
}
