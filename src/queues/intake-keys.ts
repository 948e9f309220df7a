import { LEGACY } from '../messaging/command-layout.js';

/**
 * The hash tag of a command partition: its queue's keys and its intake's lease, cursor and
 * attempt counts all carry it, so on a Redis Cluster they share one slot and the fenced commit
 * (intake-cursor.ts), one transaction over all of them, runs there. Different partitions have
 * different tags, so they spread over the cluster's shards.
 */
export function partitionTag(prefix: string, index: number): string {
  return `{${prefix}-p${index}}`;
}

/** The Redis keys of one intake partition: its lease, its cursor, its attempt counts. */
export interface IntakeKeys {
  lease: string;
  cursor: string;
  attempts: string;
}

/**
 * The keys of the intake partition `index` of layout `layout` (command-layout.ts). The single
 * intake of earlier versions (LEGACY) kept its keys under the prefix: they are read where they are.
 */
export function intakeKeys(prefix: string, partition: { layout: number; index: number } = { layout: LEGACY, index: 0 }): IntakeKeys {
  const base = partition.layout === LEGACY ? `opensim:${prefix}:command-intake` : `opensim:${partitionTag(prefix, partition.index)}:command-intake:${partition.layout}`;
  return { lease: `${base}:lease`, cursor: `${base}:cursor`, attempts: `${base}:attempts` };
}

/** The deployment-wide keys of the intake: each is one key, alone in its transactions. */
export interface IntakeCoordinationKeys {
  /** The layouts whose messages are still taken in, oldest first (a list of P, LEGACY = 0). */
  layouts: string;
  /** The processes taking commands in, with the instant each is gone by (a sorted set). */
  members: string;
  /** The mapping of commands to partition queues the intake enqueues with (partitioning.ts). */
  partitioning: string;
}

export function intakeCoordinationKeys(prefix: string): IntakeCoordinationKeys {
  const base = `opensim:${prefix}:command-intake`;
  return { layouts: `${base}:layouts`, members: `${base}:members`, partitioning: `${base}:partitioning` };
}
