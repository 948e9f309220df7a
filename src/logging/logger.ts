import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Keeps the last four characters: enough for support to recognise a line, not to identify a person. */
export function mask(value: unknown): string {
  const text = String(value ?? '');
  return text.length <= 4 ? '****' : `${'*'.repeat(text.length - 4)}${text.slice(-4)}`;
}

// MSISDN and ICCID identify a subscriber: never written in clear in logs.
const sensitivePaths = ['msisdn', 'iccid', '*.msisdn', '*.iccid', '*.*.msisdn', '*.*.iccid'];

/** The one logger of the process: JSON, one event per line. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    // pid and hostname tell apart the processes of one deployment (a `base` of our own replaces pino's).
    base: { service: 'opensim', pid: process.pid, hostname: hostname() },
    redact: { paths: sensitivePaths, censor: (value: unknown) => mask(value) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
