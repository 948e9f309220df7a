import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { listAudit } from '../operations/audit.js';
import { processIo, table, parseSince, UsageError, type CliIo } from './io.js';
import { withMongo } from './operator-connections.js';

const USAGE = `usage: opensim audit [--since 2h|<instant>] [--by NAME] [--action dlq.retry|dlq.discard] [--limit N] [--json]

Operator actions, newest first: who, when, what, on which ids, and what came of each.
`;

/** `opensim audit`: the record of operator actions. */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { since: { type: 'string' }, by: { type: 'string' }, action: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit '${values.limit}': expected a positive integer`);
    const filter = { since: values.since === undefined ? undefined : parseSince(values.since), by: values.by, action: values.action };
    const entries = await withMongo(loadConfig(io.env), (c) => listAudit(c, filter, limit));
    if (values.json) {
      io.out(`${JSON.stringify(entries, null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) {
      io.out('no operator actions recorded\n');
      return 0;
    }
    io.out(
      table(
        ['AT', 'BY', 'ACTION', 'COUNT', 'IDS', 'RESULTS'],
        entries.map((e) => [e.at, e.by, e.action, String(e.ids.length), e.ids.join(' '), summarize(Object.values(e.results))]),
      ),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError && /argument|option/i.test(err.message))) throw err;
    io.err(`opensim audit: ${err.message}\n${USAGE}`);
    return 2;
  }
}

/** "2 republished…, 1 skipped": the first word of each result, counted. */
function summarize(results: string[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const word = r.split(/[\s:]/, 1)[0]!;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].map(([word, n]) => `${n} ${word}`).join(', ');
}
