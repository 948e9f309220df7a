/**
 * Waits for `work` at most `ms`; resolves whether it settled in time. Shutdown uses it so a
 * role stuck on a server that is away (a hanging enqueue, a write) cannot hold the exit past
 * OPENSIM_SHUTDOWN_GRACE_MS: what it held comes back by redelivery, which is safe.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
