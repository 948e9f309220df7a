import { readFileSync } from 'node:fs';

/** Whether a process is stopped (SIGSTOP): state `T` in /proc/<pid>/stat. */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: the state is the first field after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/** Waits until a process froze itself at a `:stop` failpoint. */
export async function untilStopped(pid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isStopped(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop at its failpoint within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
