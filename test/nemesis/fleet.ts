import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

/** One `opensim start` of the nemesis suite, in a process group of its own (so it can be killed whole). */
export class NemesisProcess {
  readonly logs: LogLine[] = [];
  readonly child: ChildProcess;
  httpPort: number | undefined;
  private readonly file: WriteStream;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    /** The compiled entry point (dist/cli/run.js of the suite's own build). */
    entry: string,
    env: Record<string, string>,
    logFile: string,
  ) {
    this.file = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [entry, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.file.write(chunk);
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const text of lines) {
        try {
          const line = JSON.parse(text) as LogLine;
          this.logs.push(line);
          if (line.msg === 'opensim starting') this.httpPort = line.httpPort as number;
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => this.file.write(chunk));
    this.exited = new Promise((done) => this.child.once('exit', () => done()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  count(pattern: RegExp): number {
    return this.logs.filter((l) => pattern.test(l.msg)).length;
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.httpPort !== undefined && (await fetch(`http://127.0.0.1:${this.httpPort}/readyz`).then((r) => r.ok, () => false))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms`);
  }

  /** SIGKILL of its whole process group. */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.killGroup(), 20_000);
    await this.exited;
    clearTimeout(timer);
    this.file.end();
  }
}
