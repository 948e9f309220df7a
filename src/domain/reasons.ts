/**
 * Rejection reason codes. Plan-change reasons are CONTRACT.md's; resource-order and usage
 * reasons are additions in the same style (docs/domain.md lists them).
 * `INVALID_PAYLOAD` is decided by adapters (schema), never by the domain.
 */
export const PLAN_CHANGE_REASONS = [
  'INVALID_PAYLOAD',
  'TENANT_MISMATCH',
  'UNKNOWN_LINE',
  'UNKNOWN_RESOURCE',
  'TARGET_NOT_AVAILABLE',
  'CATEGORY_MISMATCH',
  'SAME_PLAN',
  'LINE_NOT_ACTIVE',
  'STALE_REQUEST',
] as const;
export type PlanChangeReason = (typeof PLAN_CHANGE_REASONS)[number];

export const RESOURCE_ORDER_REASONS = ['INVALID_PAYLOAD', 'UNKNOWN_SERVICE', 'TENANT_MISMATCH', 'UNKNOWN_PRODUCT', 'RESOURCE_CONFLICT'] as const;
export type ResourceOrderReason = (typeof RESOURCE_ORDER_REASONS)[number];

export const USAGE_REASONS = ['INVALID_PAYLOAD', 'UNKNOWN_LINE', 'TENANT_MISMATCH'] as const;
export type UsageReason = (typeof USAGE_REASONS)[number];
