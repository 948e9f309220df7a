/**
 * The two kinds of failure, told apart by type, never by message:
 * - terminal: retrying cannot help (bad input, corrupt state, a bug caught by an invariant);
 *   the request is dead-lettered at once;
 * - transient: a service is down or busy; the job is retried with exponential backoff until
 *   the budget is spent, then dead-lettered with a `failed` outcome.
 * A rule refusal is neither: it is an outcome (`rejected`), decided once.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  readonly terminal = true;
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
  readonly code = 'CONCURRENT_UPDATE';
}

/** Whether an error must not be retried. Unknown errors are treated as transient: retrying is safe, everything is idempotent. */
export function isTerminal(err: unknown): boolean {
  if (err instanceof TerminalError) return true;
  const code = (err as { code?: unknown })?.code;
  return code === 'INCONSISTENT_STATE';
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
