import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config/config.js';
import { recordAudit, operatorName } from '../operations/audit.js';
import { DEAD_LETTER_REASONS, discardDeadLetter, listDeadLetters, retryDeadLetter, statusOf, type ActionResult, type DeadLetterFilter, type DeadLetterStatus } from '../operations/dead-letters.js';
import type { DeadLetterReason } from '../store/dead-letter.js';
import type { Collections, DeadLetterDocument } from '../store/documents.js';
import { processIo, table, parseSince, UsageError, type CliIo } from './io.js';
import { withMongo, withNats } from './operator-connections.js';
import { progress } from './progress.js';

const USAGE = `usage:
  opensim dlq list [--account A] [--since 2h|<instant>] [--reason R] [--status open|retried|discarded|all] [--limit N] [--json]
  opensim dlq show <id> [--json]
  opensim dlq retry (<id>… | --all [--account A] [--since …] [--reason R]) [--yes] [--by NAME] [--json]
  opensim dlq discard (<id>… | --all [--account A] [--since …] [--reason R]) [--yes] [--by NAME] [--json]

Dead letters are the requests that got no normal outcome: INVALID_PAYLOAD (rejected, kept with
the original bytes), RETRIES_EXHAUSTED (a worker gave up), MAX_DELIVERIES (JetStream gave up).
retry publishes the original message again through JetStream: it goes through the intake and
the idempotency checks, so a request decided meanwhile changes nothing. retry and discard ask
for confirmation (--yes skips it; without a terminal, --yes is required) and are recorded for
\`opensim audit\` with --by (default $USER).
`;

const OPTIONS = {
  account: { type: 'string' },
  since: { type: 'string' },
  reason: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  by: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** `opensim dlq …`: list, show, retry and discard dead letters. */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  try {
    const [sub, ...rest] = args;
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (!sub) {
      io.err(USAGE);
      return 2;
    }
    if (sub === '--help' || sub === '-h' || values.help) {
      io.out(USAGE);
      return 0;
    }
    const config = loadConfig(io.env);
    switch (sub) {
      case 'list':
        return await list(config, io, values, positionals);
      case 'show':
        return await show(config, io, values, positionals);
      case 'retry':
      case 'discard':
        return await act(sub, config, io, values, positionals);
      default:
        throw new UsageError(`unknown subcommand '${sub}'`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`opensim dlq: ${err.message}\n${USAGE}`);
    return 2;
  }
}

function filterOf(values: Values): DeadLetterFilter {
  const status = values.status ?? 'open';
  if (!['open', 'retried', 'discarded', 'all'].includes(status)) throw new UsageError(`--status '${status}': expected open, retried, discarded or all`);
  const reason = values.reason;
  if (reason !== undefined && !(DEAD_LETTER_REASONS as readonly string[]).includes(reason)) throw new UsageError(`--reason '${reason}': expected one of ${DEAD_LETTER_REASONS.join(', ')}`);
  return {
    account: values.account,
    reason: reason as DeadLetterReason | undefined,
    since: values.since === undefined ? undefined : parseSince(values.since),
    status: status as DeadLetterStatus | 'all',
  };
}

function limitOf(values: Values, fallback: number): number {
  if (values.limit === undefined) return fallback;
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit '${values.limit}': expected a positive integer`);
  return limit;
}

async function list(config: Config, io: CliIo, values: Values, positionals: string[]): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`list takes no ids (got ${positionals.join(' ')}); use show <id>`);
  const filter = filterOf(values);
  const letters = await withMongo(config, (c) => listDeadLetters(c, filter, limitOf(values, 100)));
  if (values.json) {
    io.out(`${JSON.stringify(letters.map(summary), null, 2)}\n`);
    return 0;
  }
  if (letters.length === 0) {
    io.out('no dead letters match\n');
    return 0;
  }
  io.out(
    table(
      ['ID', 'REASON', 'KIND', 'ACCOUNT', 'REQUEST', 'ATTEMPTS', 'LAST AT', 'STATUS', 'LAST ERROR'],
      letters.map((l) => [l._id, l.reason, l.kind, l.clientAccountId ?? '-', l.requestId ?? '-', String(l.attempts), l.lastAt, statusOf(l), l.lastError]),
    ),
  );
  return 0;
}

/** A dead letter without its outbox (the events it still has to publish are counted). */
function summary(letter: DeadLetterDocument) {
  const { outbox, ...rest } = letter;
  return { ...rest, status: statusOf(letter), pendingEvents: outbox?.length ?? 0 };
}

async function show(config: Config, io: CliIo, values: Values, positionals: string[]): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('show takes exactly one id');
  const id = positionals[0]!;
  const letter = await withMongo(config, (c) => c.deadLetters.findOne({ _id: id }));
  if (!letter) {
    io.err(`opensim dlq: no dead letter '${id}'\n`);
    return 1;
  }
  if (values.json) {
    io.out(`${JSON.stringify({ ...letter, status: statusOf(letter) }, null, 2)}\n`);
    return 0;
  }
  const rows: [string, string][] = [
    ['id', letter._id],
    ['status', statusOf(letter)],
    ['reason', letter.reason],
    ['kind', letter.kind],
    ['subject', letter.subject],
    ['account', letter.clientAccountId ?? '-'],
    ['request', letter.requestId ?? '-'],
    ['attempts', String(letter.attempts)],
    ['first error', `${letter.firstAt}  ${letter.firstError}`],
    ['last error', `${letter.lastAt}  ${letter.lastError}`],
    ['headers', JSON.stringify(letter.headers)],
    ['pending events', (letter.outbox ?? []).map((e) => e.id).join(', ') || '-'],
  ];
  if (letter.retriedAt) rows.push(['retried', `${letter.retriedAt} by ${letter.retriedBy ?? '?'} (${letter.retries ?? 1}×)`]);
  if (letter.discardedAt) rows.push(['discarded', `${letter.discardedAt} by ${letter.discardedBy ?? '?'}`]);
  io.out(`${rows.map(([k, v]) => `${k.padEnd(15)}${v}`).join('\n')}\npayload:\n${pretty(letter.payload)}\n`);
  return 0;
}

function pretty(payload: string): string {
  try {
    return JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    return payload;
  }
}

async function act(verb: 'retry' | 'discard', config: Config, io: CliIo, values: Values, ids: string[]): Promise<number> {
  if (values.all && ids.length > 0) throw new UsageError(`${verb}: give ids or --all, not both`);
  if (!values.all && ids.length === 0) throw new UsageError(`${verb}: give one or more ids, or --all with filters`);
  if (!values.all && (values.account || values.since || values.reason || values.status)) throw new UsageError(`${verb}: filters go with --all`);
  const filter = values.all ? filterOf(values) : undefined;
  const by = operatorName(values.by, io.env);
  return withMongo(config, async (c) => {
    const { letters, missing } = filter ? { letters: await listDeadLetters(c, filter, 100_000), missing: [] } : await byIds(c, ids);
    for (const id of missing) io.err(`opensim dlq: no dead letter '${id}'\n`);
    if (letters.length === 0) {
      io.out('no dead letters match: nothing done\n');
      return missing.length > 0 ? 1 : 0;
    }
    if (!values.yes) {
      const question = `${verb === 'retry' ? 'Retry' : 'Discard'} ${letters.length} dead letter${letters.length === 1 ? '' : 's'} (${describe(letters)})?`;
      const answer = await io.confirm(question);
      if (answer === undefined) {
        io.err(`opensim dlq: ${verb} of ${letters.length} dead letter(s) needs confirmation, and there is no terminal to ask on: pass --yes\n`);
        return 2;
      }
      if (!answer) {
        io.err('opensim dlq: nothing done\n');
        return 1;
      }
    }
    const results = await perform(verb, config, c, letters, by);
    const filters = Object.fromEntries(Object.entries(filter ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
    await recordAudit(c, { at: new Date().toISOString(), by, action: `dlq.${verb}`, ids: letters.map((l) => l._id), filters, results: Object.fromEntries(results.map((r) => [r.id, r.done ? r.detail : `skipped: ${r.detail}`])) });
    if (values.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
    else io.out(table(['ID', 'RESULT', 'DETAIL'], results.map((r) => [r.id, r.done ? (verb === 'retry' ? 'retried' : 'discarded') : 'skipped', r.detail]), 100));
    const failed = results.filter((r) => !r.done && r.detail.startsWith('error:')).length;
    return failed > 0 || missing.length > 0 ? 1 : 0;
  });
}

async function byIds(c: Collections, ids: string[]): Promise<{ letters: DeadLetterDocument[]; missing: string[] }> {
  const found = await c.deadLetters.find({ _id: { $in: ids } }).toArray();
  const byId = new Map(found.map((l) => [l._id, l]));
  return { letters: ids.flatMap((id) => byId.get(id) ?? []), missing: ids.filter((id) => !byId.has(id)) };
}

function describe(letters: DeadLetterDocument[]): string {
  const counts = new Map<string, number>();
  for (const l of letters) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}

/** Below this many letters the table follows at once: no progress line. */
const PROGRESS_FROM = 10;

/** One letter after the other; a failure is reported for that letter and the others go on. */
async function perform(verb: 'retry' | 'discard', config: Config, c: Collections, letters: DeadLetterDocument[], by: string): Promise<ActionResult[]> {
  const each = async (one: (letter: DeadLetterDocument) => Promise<ActionResult>) => {
    const bar = progress(verb === 'retry' ? 'retrying' : 'discarding', letters.length >= PROGRESS_FROM ? letters.length : 0);
    const results: ActionResult[] = [];
    for (const letter of letters) {
      results.push(await one(letter).catch((err): ActionResult => ({ id: letter._id, done: false, detail: `error: ${(err as Error).message}` })));
      bar.advance(1);
    }
    bar.done();
    return results;
  };
  if (verb === 'discard') return each((letter) => discardDeadLetter(c, letter, by, new Date().toISOString()));
  return withNats(config, (nc) => {
    const js = nc.jetstream();
    return each((letter) => retryDeadLetter(c, js, letter, by, new Date().toISOString()));
  });
}
