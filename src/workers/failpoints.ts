/**
 * Failpoints for fault tests: `OPENSIM_FAILPOINT=<name>` makes the process kill itself with
 * SIGKILL when it reaches that point, so a test can prove what a crash at exactly that step
 * leaves behind. Unset in production; reaching a failpoint costs one string comparison.
 */
export type FailpointName =
  // Usage counting (src/usage/usage-writer.ts): after the claims, after the line commits, after the claims are settled.
  | 'usage:after-claims'
  | 'usage:after-commit'
  | 'usage:after-settle'
  | 'plan-change:before-line-write'
  | 'plan-change:after-line-write'
  | 'relay:before-publish'
  | 'intake:before-enqueue'
  | 'intake:after-enqueue';

export function failpoint(name: FailpointName): void {
  if (process.env.OPENSIM_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
