/**
 * Failpoints for fault tests. `OPENSIM_FAILPOINT=<name>` makes the process kill itself with
 * SIGKILL when it reaches that point, so a test can prove what a crash at exactly that step
 * leaves behind. `OPENSIM_FAILPOINT=<name>:stop` freezes it instead (SIGSTOP, once): the test
 * holds the process at that step, as a long GC pause or a frozen VM would, lets the others go
 * on, and wakes it (SIGCONT) to see what a late holder does. `OPENSIM_FAILPOINT_KEY=<id>`
 * limits it to one request or usage id. Unset in production; reaching a failpoint costs one
 * string comparison.
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

let stopped = false;

export function failpoint(name: FailpointName, key?: string): void {
  const armed = process.env.OPENSIM_FAILPOINT;
  if (armed === undefined || !armed.startsWith(name)) return;
  const only = process.env.OPENSIM_FAILPOINT_KEY;
  if (only !== undefined && only !== key) return;
  if (armed === name) process.kill(process.pid, 'SIGKILL');
  else if (armed === `${name}:stop` && !stopped) {
    stopped = true;
    process.kill(process.pid, 'SIGSTOP');
  }
}
