import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { UsageError } from './io.js';

/** The flags of a request kind, as `parseArgs` reads them: strings (ids, instants) and switches. */
export type KindValues = Record<string, string | boolean | undefined>;
export type KindOptions = Record<string, { type: 'string' | 'boolean' }>;

export const SHARED_HELP = `  --json              print the outcome as JSON (stdout) instead of a line
  --timeout <s>       how long to wait for the outcome: 30 (seconds), 90s, 2m (default 30s)`;

/** `cli-<time>-<random>`: unique enough for a probe, and readable in the logs. */
export function generatedId(): string {
  return `cli-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A string flag's value, or undefined when absent (a switch is never a string flag). */
export function optional(values: KindValues, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === 'string' ? value : undefined;
}

export function required(values: KindValues, flag: string): string {
  const value = optional(values, flag);
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Validates with the contract's own schema, naming the flag of each bad field. */
export function checked<T extends z.ZodType>(schema: T, body: Record<string, unknown>, flags: Record<string, string>): z.infer<T> & Record<string, unknown> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data as z.infer<T> & Record<string, unknown>;
  const problems = parsed.error.issues.map((issue) => `${flags[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}`);
  throw new UsageError(problems.join('; '));
}

/** Bytes as the CLI prints them: GiB with one decimal (the portal's "Gio"). */
export function gib(bytes: number | null): string {
  return bytes === null ? 'none' : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
