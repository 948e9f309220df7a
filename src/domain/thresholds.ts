/**
 * Thresholds of a line's month. Envelope thresholds (80 %, 100 %) follow the prorated envelope;
 * the reduction and block thresholds and the cost cap are the current plan's full values,
 * never prorated (source: "le seuil de blocage ou de réduction ne l'est pas").
 *
 * Bytes thresholds compare the month's total usage (France + Europe) with the limit; COST_CAP
 * compares the spend. A threshold is crossed when usage has reached the limit and is not zero
 * (nothing consumed crosses nothing, even a zero limit).
 */
import type { Product } from './catalog.js';
import type { Envelope } from './envelope.js';

export const THRESHOLD_NAMES = ['ENVELOPE_80', 'ENVELOPE_100', 'REDUCTION', 'BLOCK', 'COST_CAP'] as const;
export type ThresholdName = (typeof THRESHOLD_NAMES)[number];

export const DATA_STATES = ['normal', 'reduced', 'blocked'] as const;
export type DataState = (typeof DATA_STATES)[number];

/** The CONTRACT.md `thresholds` object: the current plan's full values, each `null` when not applicable. */
export interface Thresholds {
  reductionBytes: number | null;
  blockBytes: number | null;
  costCapCents: number | null;
}

/** Counters of one line and month. */
export interface MonthUsage {
  frBytes: number;
  euBytes: number;
  spendCents: number;
}

export const NO_THRESHOLDS: Thresholds = { reductionBytes: null, blockBytes: null, costCapCents: null };

export function thresholdsOf(product: Product | null): Thresholds {
  if (!product) return NO_THRESHOLDS;
  return {
    reductionBytes: product.reductionThresholdBytes,
    blockBytes: product.blockThresholdBytes,
    costCapCents: product.costCapCents,
  };
}

export function usedBytes(usage: MonthUsage): number {
  return usage.frBytes + usage.euBytes;
}

/** The limit of a threshold; `null` when it does not apply (metered envelope, plan without that threshold). */
export function limitOf(name: ThresholdName, envelope: Envelope, thresholds: Thresholds): number | null {
  switch (name) {
    case 'ENVELOPE_80':
      // Smallest integer ≥ 80 % of the envelope: usage ≥ limit ⇔ usage ≥ 0.8 × envelope.
      return envelope.totalBytes === null ? null : Number((BigInt(envelope.totalBytes) * 4n + 4n) / 5n);
    case 'ENVELOPE_100':
      return envelope.totalBytes;
    case 'REDUCTION':
      return thresholds.reductionBytes;
    case 'BLOCK':
      return thresholds.blockBytes;
    case 'COST_CAP':
      return thresholds.costCapCents;
    default:
      return unreachable(name);
  }
}

export function valueOf(name: ThresholdName, usage: MonthUsage): number {
  return name === 'COST_CAP' ? usage.spendCents : usedBytes(usage);
}

export function isCrossed(name: ThresholdName, envelope: Envelope, thresholds: Thresholds, usage: MonthUsage): boolean {
  const limit = limitOf(name, envelope, thresholds);
  const value = valueOf(name, usage);
  return limit !== null && value > 0 && value >= limit;
}

/** Blocked at the block threshold or the cost cap, reduced at the reduction threshold, normal otherwise. */
export function dataStateOf(crossed: readonly ThresholdName[]): DataState {
  if (crossed.includes('BLOCK') || crossed.includes('COST_CAP')) return 'blocked';
  if (crossed.includes('REDUCTION')) return 'reduced';
  return 'normal';
}

export const DATA_STATE_SEVERITY: Record<DataState, number> = { normal: 0, reduced: 1, blocked: 2 };

/** max(0, blockThreshold − envelope): data the line can use beyond its envelope before being blocked. */
export function overageExposureBytes(envelope: Envelope, thresholds: Thresholds): number | null {
  if (envelope.totalBytes === null || thresholds.blockBytes === null) return null;
  return Math.max(0, thresholds.blockBytes - envelope.totalBytes);
}

export function unreachable(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
