/**
 * Rejection reason codes. Plan-change and cancel reasons are CONTRACT.md's; resource-order and
 * usage reasons are additions in the same style (docs/domain.md lists them).
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
  'CHANGE_ALREADY_SCHEDULED',
  'INVALID_EFFECTIVE_DATE',
] as const;
export type PlanChangeReason = (typeof PLAN_CHANGE_REASONS)[number];
/** The reasons a decision (not the schema) gives. */
export type PlanChangeRuleReason = Exclude<PlanChangeReason, 'INVALID_PAYLOAD'>;

/** Refusals of `opensim.cmd.plan-change-cancel` (CONTRACT.md, additions of 2026-11-30). */
export const PLAN_CHANGE_CANCEL_REASONS = ['INVALID_PAYLOAD', 'TENANT_MISMATCH', 'NOT_SCHEDULED'] as const;
export type PlanChangeCancelReason = (typeof PLAN_CHANGE_CANCEL_REASONS)[number];

export const RESOURCE_ORDER_REASONS = ['INVALID_PAYLOAD', 'UNKNOWN_SERVICE', 'TENANT_MISMATCH', 'UNKNOWN_PRODUCT', 'RESOURCE_CONFLICT'] as const;
export type ResourceOrderReason = (typeof RESOURCE_ORDER_REASONS)[number];

export const USAGE_REASONS = ['INVALID_PAYLOAD', 'UNKNOWN_LINE', 'TENANT_MISMATCH'] as const;
export type UsageReason = (typeof USAGE_REASONS)[number];
