/** Exponential backoff with full jitter, capped: attempt 1 waits up to base, attempt n up to base·2^(n-1). */
export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half jitter: spreads retries of many jobs without ever retrying at once.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
