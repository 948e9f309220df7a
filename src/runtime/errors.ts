import { InconsistentStateError } from '../domain/index.js';

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

/**
 * Whether an error must not be retried: a TerminalError, or the domain's InconsistentStateError
 * (stored state breaks an invariant: retrying reads the same). Unknown errors are transient:
 * retrying is safe, everything is idempotent.
 */
export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError || err instanceof InconsistentStateError;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
