import type { SubjectTransformConfig } from 'nats';
import { COMMAND_CONSUMER } from './subjects.js';

/**
 * How the command stream splits commands into intake partitions: a JetStream subject transform
 * on the stream rewrites `<prefix>.cmd.<kind>.<account>` as it stores it into
 * `<prefix>.cmd.<P>.<p>.<kind>.<account>`, where `p = partition(P, account)` (the server's
 * FNV-1a of the account token, modulo P: `partitionOf` computes the same). Every command of an
 * account (its plan changes, resource orders and cancels) lands in one partition, in stream
 * order, and a line belongs to one account: per-line order holds within a partition, whichever
 * process takes it in.
 *
 * `P` is in the stored subject, so the messages of an earlier layout (another P, or none: the
 * single intake of earlier versions, `LEGACY`) are told apart from the current one's and taken in
 * first (intake-layouts.ts). Upstream keeps publishing on `<prefix>.cmd.<kind>.<account>`.
 */
export const LEGACY = 0;

/** One partition of one layout: what one process at a time takes in. */
export interface IntakePartition {
  /** P of the layout; LEGACY for the messages stored before any transform. */
  layout: number;
  index: number;
  consumer: string;
  /** The stored subjects of the partition (a filter). */
  filter: string;
}

export function intakePartition(prefix: string, layout: number, index: number): IntakePartition {
  if (layout === LEGACY) return { layout, index: 0, consumer: COMMAND_CONSUMER, filter: `${prefix}.cmd.*.*` };
  return { layout, index, consumer: `${COMMAND_CONSUMER}-${layout}-${index}`, filter: `${prefix}.cmd.${layout}.${index}.>` };
}

export function intakePartitions(prefix: string, layout: number): IntakePartition[] {
  return Array.from({ length: layout === LEGACY ? 1 : layout }, (_, p) => intakePartition(prefix, layout, p));
}

/** The stream's transform for P partitions. */
export function commandTransform(prefix: string, partitions: number): SubjectTransformConfig {
  return { src: `${prefix}.cmd.*.*`, dest: `${prefix}.cmd.${partitions}.{{partition(${partitions},2)}}.{{wildcard(1)}}.{{wildcard(2)}}` };
}

/** P of the transform a stream has (LEGACY: none, or not one of ours). */
export function layoutOfTransform(prefix: string, transform: SubjectTransformConfig | undefined): number {
  if (!transform || transform.src !== `${prefix}.cmd.*.*`) return LEGACY;
  const p = /^.*\.cmd\.(\d+)\.\{\{partition\(\d+,2\)\}\}/.exec(transform.dest)?.[1];
  return p === undefined || !transform.dest.startsWith(`${prefix}.cmd.`) ? LEGACY : Number(p);
}
