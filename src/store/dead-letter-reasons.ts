/**
 * Why something was dead-lettered, one name each, the same in dead letters, logs and metrics:
 *  INVALID_PAYLOAD   the bytes are not a valid message (refused at once, never retried);
 *  RETRIES_EXHAUSTED a transient failure outlasted the retries (a job; a webhook warning);
 *  TERMINAL_ERROR    retrying could not help (corrupt state, a broken invariant);
 *  STALLED_TOO_OFTEN a job's workers stalled past its lock more than allowed;
 *  MAX_DELIVERIES    the intake gave up taking a message in (it crashed the process each time);
 *  WEBHOOK_REJECTED  the alert webhook refused a warning for good (4xx other than 408/429);
 *  UNKNOWN_LINE, TENANT_MISMATCH  a rule refused a usage record (usage has no refusal event).
 */
export const DEAD_LETTER_REASONS = [
  'INVALID_PAYLOAD',
  'RETRIES_EXHAUSTED',
  'TERMINAL_ERROR',
  'STALLED_TOO_OFTEN',
  'MAX_DELIVERIES',
  'WEBHOOK_REJECTED',
  'UNKNOWN_LINE',
  'TENANT_MISMATCH',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];
