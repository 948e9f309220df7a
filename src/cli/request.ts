import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { withNats } from './operator-connections.js';
import type { Config } from '../config/config.js';
import { planChange, planChangeCancel, resourceOrder, SUCCESSFUL_OUTCOMES, outcomeOf, type KindValues, type OutgoingQuery, type OutgoingRequest, type RequestKind } from './request-kinds.js';
import { askQuery, publishAndAwait } from './request-outcome.js';
import { planChangePreview } from './request-preview.js';

/** The kinds of request, by sub-verb. A new kind is one line here (and in commands.ts). */
const KINDS: Record<string, RequestKind> = {
  'plan-change': planChange,
  'resource-order': resourceOrder,
  cancel: planChangeCancel,
  preview: planChangePreview,
};

/** Exit codes besides 0 (done as asked) and 2 (bad command line). */
export const EXIT_REFUSED = 1;
export const EXIT_NO_OUTCOME = 3;

const SUMMARY = `Publishes one request through NATS JetStream, as an upstream system does (Nats-Msg-Id = its
id), waits for its outcome event and prints it. Exit code: 0 applied, scheduled or cancelled;
1 rejected or failed (or NATS unreachable); 2 bad command line; 3 no outcome in time.
preview asks the plan-change preview query instead (nothing is sent to be done): exit 0 when
the change would be applied or scheduled, 1 when it would be rejected, 3 no reply in time.
NATS_URL, OPENSIM_SUBJECT_PREFIX and the NATS_* credentials come from the environment.`;

const usage = (name?: string): string => {
  if (name && KINDS[name]) return `usage: opensim request ${name} [flags]\n\n${SUMMARY}\n\n${KINDS[name].flagsHelp}\n`;
  return `usage: opensim request <${Object.keys(KINDS).join('|')}> [flags]   (opensim request <kind> --help: its flags)\n\n${SUMMARY}\n`;
};

const SHARED_OPTIONS = {
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `opensim request <kind> …`: one request, its outcome printed. */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h') {
    io.out(usage());
    return 0;
  }
  const kind = name === undefined ? undefined : KINDS[name];
  try {
    if (!kind) throw new UsageError(name === undefined ? 'which kind of request?' : `unknown kind of request '${name}'`);
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...kind.options, ...SHARED_OPTIONS }, strict: true, allowPositionals: false });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { json, timeout, help, ...values } = parsed.values;
    if (help) {
      io.out(usage(name));
      return 0;
    }
    const explicitTimeoutMs = timeout === undefined ? undefined : parseTimeout(timeout);
    const outgoing = kind.build(values as KindValues, new Date());
    const timeoutMs = explicitTimeoutMs ?? parseTimeout(undefined, outgoing.mode === 'publish' ? outgoing.defaultTimeoutMs : undefined);
    const config = loadConfig(io.env);
    return outgoing.mode === 'query' ? await query(config, outgoing, timeoutMs, json === true, io) : await publish(config, outgoing, timeoutMs, json === true, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`opensim request: ${err.message}\n\n${usage(kind ? name : undefined)}`);
    return 2;
  }
}

async function publish(config: Config, request: OutgoingRequest, timeoutMs: number, json: boolean, io: CliIo): Promise<number> {
  const result = await withNats(config, (nc) =>
    publishAndAwait(
      nc,
      config.OPENSIM_SUBJECT_PREFIX,
      request,
      timeoutMs,
      () => io.err(`note: JetStream dropped this message as a duplicate of ${request.msgId}, sent within its duplicate window; waiting for that one's outcome\n`),
      (interim) => io.err(`note: ${request.describe(interim)}; waiting for its final outcome\n`),
    ),
  );
  if (!result.outcome) {
    io.err(
      `opensim request: no outcome for ${request.label} within ${timeoutMs / 1000} s on ${config.OPENSIM_SUBJECT_PREFIX}.${request.outcomeSubject}. ` +
        (result.duplicate
          ? 'Its first copy was probably decided before this command listened: send it with a new id.\n'
          : `Is the system running (npm start, or opensim start with OPENSIM_SUBJECT_PREFIX=${config.OPENSIM_SUBJECT_PREFIX})? A request id decided before is not decided again and publishes nothing; opensim queues shows what waits.\n`),
    );
    return EXIT_NO_OUTCOME;
  }
  io.out(json ? `${JSON.stringify(result.outcome, null, 2)}\n` : `${request.describe(result.outcome)}\n`);
  return SUCCESSFUL_OUTCOMES.includes(outcomeOf(result.outcome)) ? 0 : EXIT_REFUSED;
}

async function query(config: Config, outgoing: OutgoingQuery, timeoutMs: number, json: boolean, io: CliIo): Promise<number> {
  const reply = await withNats(config, (nc) => askQuery(nc, config.OPENSIM_SUBJECT_PREFIX, outgoing, timeoutMs));
  if (!reply) {
    io.err(`opensim request: no reply to the ${outgoing.label} within ${timeoutMs / 1000} s on ${config.OPENSIM_SUBJECT_PREFIX}.${outgoing.subject}: the system answering queries is busy or stopping; ask again.\n`);
    return EXIT_NO_OUTCOME;
  }
  io.out(json ? `${JSON.stringify(reply, null, 2)}\n` : `${outgoing.describe(reply)}\n`);
  return outgoing.succeeded(reply) ? 0 : EXIT_REFUSED;
}

const TIMEOUT = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** `--timeout`: seconds (30), or with a unit (1500ms, 90s, 2m); default 30 s, or the kind's own (--wait-final). */
export function parseTimeout(value: string | undefined, defaultMs = 30_000): number {
  if (value === undefined) return defaultMs;
  const match = TIMEOUT.exec(value);
  const ms = match ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (!(ms > 0)) throw new UsageError(`--timeout '${value}': expected a duration such as 30, 90s, 2m or 1500ms`);
  return ms;
}
