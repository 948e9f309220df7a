/** The Redis keys of the command intake of a deployment: its lease, its cursor, its attempt counts, its partitioning. */
export interface IntakeKeys {
  lease: string;
  cursor: string;
  attempts: string;
  /** The mapping of commands to partition queues the intake enqueues with (partitioning.ts). */
  partitioning: string;
}

export function intakeKeys(prefix: string): IntakeKeys {
  const base = `opensim:${prefix}:command-intake`;
  return { lease: `${base}:lease`, cursor: `${base}:cursor`, attempts: `${base}:attempts`, partitioning: `${base}:partitioning` };
}
