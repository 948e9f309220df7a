import { createInterface } from 'node:readline/promises';

/** Where a verb writes and how it asks: the process's terminal, or a test's buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Asks a yes/no question; undefined when nobody can answer (no terminal). */
  confirm(question: string): Promise<boolean | undefined>;
  env: Record<string, string | undefined>;
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    async confirm(question) {
      if (!process.stdin.isTTY) return undefined;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  };
}

/** A bad command line: reported with the usage, exit code 2. */
export class UsageError extends Error {}

/** Fixed-width columns; cells longer than `maxWidth` are cut with an ellipsis. */
export function table(headers: string[], rows: string[][], maxWidth = 60): string {
  const cut = (cell: string) => {
    const flat = cell.replace(/\s+/g, ' ');
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  // The first column is what an operator copies into the next command (a dead letter's id): never cut.
  const cells = [headers, ...rows].map((row) => row.map((cell, i) => (i === 0 ? cell : cut(cell))));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return `${cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since`: an RFC 3339 instant, or a duration back from now (`90s`, `30m`, `2h`, `7d`); returned as an ISO instant (UTC). */
export function parseSince(value: string, now = Date.now()): string {
  const duration = DURATION.exec(value);
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/\d{4}-\d{2}-\d{2}/.test(value)) throw new UsageError(`--since '${value}': expected an instant (2026-11-15T10:00:00+01:00) or a duration (30m, 2h, 7d)`);
  return new Date(at).toISOString();
}

export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}
