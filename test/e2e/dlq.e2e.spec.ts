import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { naming } from '../../src/messaging/subjects.js';
import { opensimCli } from '../support/cli.js';
import { eventually } from '../support/opensim-process.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { parsePrometheus, sumOf } from '../support/prometheus.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ACC = 'DLQ';
const request = (i: number) => ({
  requestId: `out-${i}`, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L${i}`,
  targetResourceId: `${ACC}-L${i}-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00',
});

interface Letter { _id: string; requestId: string; reason: string; status: string; attempts: number; retries?: number; retriedBy?: string; discardedBy?: string; clientAccountId: string }

describe('opensim dlq', () => {
  let client: PipelineClient | undefined;
  let system: RunningSystem | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await proxy?.close();
    proxy = undefined;
    await client?.cleanup();
  });

  /** A later request of the same service: once it has its outcome, its partition holds nothing older. */
  async function drain(c: PipelineClient, id: string): Promise<void> {
    await c.planChange({ requestId: id, clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: 'NOPE', targetResourceId: 'X', requestedAt: '2026-11-15T11:00:00+01:00' });
    await c.waitForEvents((e) => e.data.requestId === id, 1, 30_000);
  }

  /** BullMQ's memory of finished jobs is gone (as after its retention): only MongoDB's `requests` remain to deduplicate. */
  async function forgetCompletedJobs(c: PipelineClient): Promise<void> {
    for (let p = 0; p < c.config.OPENSIM_PARTITIONS; p++) {
      const q = c.queue(p);
      await q.clean(0, 10_000, 'completed');
      await q.close();
    }
  }

  const duplicates = async () => sumOf(parsePrometheus((await system!.metrics.render()).body), 'opensim_requests_total', { outcome: 'duplicate' });

  it('retry after the cause was fixed (MongoDB back): applied once; retrying twice, or one that has since succeeded, changes nothing more; audited', async () => {
    const env = isolatedEnv({ OPENSIM_RETRY_ATTEMPTS: '3', OPENSIM_RETRY_BASE_MS: '50', OPENSIM_RETRY_MAX_MS: '200' });
    client = await PipelineClient.open(env);
    await client.seed(fleet(ACC, 3));
    proxy = await startTcpProxy(env.MONGO_URL!, 27017);
    const url = new URL(proxy.url(env.MONGO_URL!));
    url.searchParams.set('serverSelectionTimeoutMS', '500');
    system = await startInProcess({ ...env, MONGO_URL: url.toString() });

    await proxy.cut();
    await client.planChange(request(0));
    await client.planChange(request(1));
    // Their retries spent while MongoDB is away, the jobs wait in BullMQ's failed set; their failures are recorded once it answers.
    await eventually(async () => (await client!.failedJobCount()) === 2, 30_000);
    await proxy.restore();
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.failed', 2, 30_000);
    await eventually(async () => (await client!.db.collection('deadLetters').countDocuments({ reason: 'RETRIES_EXHAUSTED' })) === 2, 30_000);
    // Upstream re-sends out-1 on its own once MongoDB is back (fresh Nats-Msg-Id): it is applied.
    await client.planChange(request(1), 'out-1-resent');
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'out-1');

    // /metrics counts them: two failed outcomes, two dead letters written, two open in MongoDB.
    const metrics = parsePrometheus((await system.metrics.render()).body);
    expect(sumOf(metrics, 'opensim_requests_total', { outcome: 'failed', reason: 'RETRIES_EXHAUSTED' })).toBe(2);
    expect(sumOf(metrics, 'opensim_dead_lettered_total', { reason: 'RETRIES_EXHAUSTED' })).toBe(2);
    expect(sumOf(metrics, 'opensim_dead_letters', { reason: 'RETRIES_EXHAUSTED', status: 'open' })).toBe(2);

    // list (JSON and table), show
    const listed = await opensimCli('dlq', ['list', '--json'], env);
    expect(listed.code).toBe(0);
    const letters = JSON.parse(listed.out) as Letter[];
    expect(letters.map((l) => l.requestId).sort()).toEqual(['out-0', 'out-1']);
    expect(letters.every((l) => l.reason === 'RETRIES_EXHAUSTED' && l.status === 'open' && l.attempts === 3)).toBe(true);
    const id0 = letters.find((l) => l.requestId === 'out-0')!._id;
    const table = await opensimCli('dlq', ['list'], env);
    expect(table.out.split('\n')[0]).toMatch(/^ID\s+REASON\s+KIND\s+ACCOUNT\s+REQUEST\s+ATTEMPTS\s+LAST AT\s+STATUS\s+LAST ERROR$/);
    expect(table.out).toContain(id0);
    const shown = await opensimCli('dlq', ['show', id0], env);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/reason\s+RETRIES_EXHAUSTED/);
    expect(shown.out).toMatch(/"requestId": "out-0"/);
    expect(shown.out).toMatch(/last error\s+\S+\s+Mongo\w*Error/);

    // What the retries publish, as they pass (a watch of the subject: simpler than finding them in the stream).
    const retriesPublished: string[] = [];
    const watch = client.nc.subscribe(`${client.prefix}.cmd.>`, {
      callback: (_err, m) => {
        const of = m.headers?.get('Opensim-Retry-Of');
        if (of) retriesPublished.push(`${of} ${m.headers!.get('Nats-Msg-Id')}`);
      },
    });
    await client.nc.flush();

    // retry --all, confirmed at the prompt
    await forgetCompletedJobs(client);
    const retried = await opensimCli('dlq', ['retry', '--all', '--by', 'alice'], env, true);
    expect(retried.err).toMatch(/^\? Retry 2 dead letters \(2 RETRIES_EXHAUSTED\)\?/);
    expect(retried.code).toBe(0);
    expect(retried.out).toMatch(/retried\s+republished to/);
    await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'out-0');
    await drain(client, 'sync-1');
    // out-1 had succeeded meanwhile: the pipeline found its decision in MongoDB and did nothing more.
    expect(await duplicates()).toBe(1);

    // retry out-0 a second time
    await forgetCompletedJobs(client);
    const again = await opensimCli('dlq', ['retry', id0, '--yes', '--by', 'bob'], env);
    expect(again.code).toBe(0);
    await drain(client, 'sync-2');
    expect(await duplicates()).toBe(2);

    for (const requestId of ['out-0', 'out-1']) {
      const ids = new Set(client.events.filter((e) => e.data.requestId === requestId).map((e) => e.id));
      expect([...ids].sort()).toEqual([`plan-change:${requestId}:applied`, `plan-change:${requestId}:failed`]);
    }
    const lines = await client.db.collection('lines').find({ _id: { $in: [`${ACC}-L0`, `${ACC}-L1`] } as never }).toArray();
    // Each line recorded the failure (version 1), then the change (version 2).
    expect(lines.map((l) => [l._id, l.version, l.decidedRequestIds])).toEqual([[`${ACC}-L0`, 2, ['out-0']], [`${ACC}-L1`, 2, ['out-1']]]);
    expect(await client.db.collection('requests').countDocuments({ _id: { $in: ['plan-change:out-0', 'plan-change:out-1'] } as never })).toBe(2);
    // Three retries were published to the command subject (a fresh Nats-Msg-Id each), marked with the
    // letter they came from; taken in by the intake, they stay in the stream for the horizon (limits
    // retention: what Redis loses is taken in again from there), after the two first attempts.
    watch.unsubscribe();
    const id1 = letters.find((l) => l.requestId === 'out-1')!._id;
    const jsm = await client.nc.jetstreamManager();
    expect((await jsm.streams.info(naming(client!.prefix).commandStream)).state.messages).toBeGreaterThanOrEqual(2 + 3);
    expect(retriesPublished.sort()).toEqual([`${id0} retry:${id0}:1`, `${id0} retry:${id0}:2`, `${id1} retry:${id1}:1`].sort());

    const after = JSON.parse((await opensimCli('dlq', ['list', '--status', 'all', '--json'], env)).out) as Letter[];
    expect(after.find((l) => l._id === id0)).toMatchObject({ status: 'retried', retries: 2, retriedBy: 'bob' });
    expect(after.find((l) => l._id !== id0)).toMatchObject({ status: 'retried', retries: 1, retriedBy: 'alice' });
    expect(JSON.parse((await opensimCli('dlq', ['list', '--json'], env)).out)).toEqual([]);
    expect(sumOf(parsePrometheus((await system.metrics.render()).body), 'opensim_dead_letters', { reason: 'RETRIES_EXHAUSTED', status: 'retried' })).toBe(2);

    const audit = await opensimCli('audit', ['--json'], env);
    const entries = JSON.parse(audit.out) as { by: string; action: string; ids: string[]; at: string }[];
    expect(entries.map((e) => [e.by, e.action, e.ids.length])).toEqual([['bob', 'dlq.retry', 1], ['alice', 'dlq.retry', 2]]);
    const auditTable = await opensimCli('audit', [], env);
    expect(auditTable.out).toMatch(/^AT\s+BY\s+ACTION\s+COUNT\s+IDS\s+RESULTS\n/);
    expect(auditTable.out).toMatch(/alice\s+dlq\.retry\s+2\s/);

    // The failure rate of the last hour counts the two jobs that failed.
    const queuesTable = await opensimCli('queues', [], env);
    expect(queuesTable.out).toMatch(/^intake \(\S+_COMMANDS \/ command-intake-\* \(\d+\)\): 0 pending/);
    expect(queuesTable.out).toMatch(/QUEUE\s+WAITING\s+PRIORITIZED\s+ACTIVE\s+DELAYED\s+COMPLETED\s+FAILED\s+OLDEST WAITING\s+FAILURE RATE 60m/);
    expect(queuesTable.out).toMatch(/\ntotal\s.*\d+\.\d% \(2\/\d+\)\n$/);
    const queues = JSON.parse((await opensimCli('queues', ['--json'], env)).out) as { intake: { pending: number }; queues: { failedInWindow: number; completedInWindow: number }[] };
    expect(queues.intake.pending).toBe(0);
    expect(queues.queues.reduce((n, q) => n + q.failedInWindow, 0)).toBe(2);
    expect(queues.queues.reduce((n, q) => n + q.completedInWindow, 0)).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('filters, discard with and without confirmation, INVALID_PAYLOAD is not retried', async () => {
    const env = isolatedEnv();
    client = await PipelineClient.open(env);
    system = await startInProcess(env);
    await client.publish('cmd.plan-change.DLQA', 'not json', 'a-1');
    await client.publish('cmd.plan-change.DLQA', { requestId: 'a-2' }, 'a-2');
    await client.publish('cmd.resource-order.DLQB', '{}', 'b-1');
    await client.waitForEvents((e) => e.type.endsWith('.rejected'), 3);

    const list = async (...args: string[]) => JSON.parse((await opensimCli('dlq', ['list', '--json', ...args], env)).out) as Letter[];
    expect((await list('--account', 'DLQA')).map((l) => l.requestId).sort()).toEqual(['a-1', 'a-2']);
    expect(await list('--reason', 'INVALID_PAYLOAD')).toHaveLength(3);
    expect(await list('--reason', 'RETRIES_EXHAUSTED')).toEqual([]);
    expect(await list('--since', '1h')).toHaveLength(3);
    expect(await list('--since', new Date(Date.now() + 60_000).toISOString())).toEqual([]);
    expect((await opensimCli('dlq', ['list', '--reason', 'MAX_DELIVERIES'], env)).out).toBe('no dead letters match\n');
    const [bLetter] = await list('--account', 'DLQB');

    // An invalid message was rejected (its outcome): retrying it is refused, nothing is published.
    const stream = naming(client.prefix).commandStream;
    const jsm = await client.nc.jetstreamManager();
    const before = (await jsm.streams.info(stream)).state.messages;
    const invalidRetry = await opensimCli('dlq', ['retry', bLetter!._id, '--yes'], env);
    expect(invalidRetry.code).toBe(0);
    expect(invalidRetry.out).toMatch(/skipped\s+INVALID_PAYLOAD is final/);
    expect((await jsm.streams.info(stream)).state.messages).toBe(before);

    // No terminal and no --yes: refused. Answered no: nothing done. Neither is an action to audit.
    const refused = await opensimCli('dlq', ['discard', '--all', '--account', 'DLQB'], env, undefined);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/no terminal to ask on: pass --yes/);
    const declined = await opensimCli('dlq', ['discard', '--all', '--account', 'DLQB'], env, false);
    expect(declined.code).toBe(1);
    expect(await list('--account', 'DLQB')).toHaveLength(1);

    const discarded = await opensimCli('dlq', ['discard', '--all', '--account', 'DLQB', '--yes', '--by', 'carol'], env);
    expect(discarded.code).toBe(0);
    expect(discarded.out).toMatch(new RegExp(`${bLetter!._id}\\s+discarded`));
    expect(await list()).toHaveLength(2);
    expect(await list('--status', 'discarded')).toEqual([expect.objectContaining({ _id: bLetter!._id, discardedBy: 'carol', status: 'discarded' })]);
    const twice = await opensimCli('dlq', ['discard', bLetter!._id, '--yes', '--by', 'carol'], env);
    expect(twice.out).toMatch(/skipped\s+already discarded/);

    const audit = JSON.parse((await opensimCli('audit', ['--json', '--by', 'carol'], env)).out) as { action: string; ids: string[]; filters: Record<string, string>; results: Record<string, string> }[];
    expect(audit.map((a) => a.action)).toEqual(['dlq.discard', 'dlq.discard']);
    expect(audit[1]).toMatchObject({ ids: [bLetter!._id], filters: { account: 'DLQB', status: 'open' }, results: { [bLetter!._id]: 'discarded' } });
    expect(JSON.parse((await opensimCli('audit', ['--json'], env)).out)).toHaveLength(3);

    expect((await opensimCli('dlq', ['show', 'no-such-letter'], env)).code).toBe(1);
    expect((await opensimCli('dlq', ['retry'], env)).code).toBe(2);
    expect((await opensimCli('dlq', ['retry', 'x', '--all'], env)).code).toBe(2);

    // The real command, with no terminal on stdin: refuses without --yes.
    const bin = resolve(import.meta.dirname, '../../bin/opensim.mjs');
    const real = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = execFile(process.execPath, [bin, 'dlq', 'discard', '--all'], { env: { ...process.env, ...env } }, (err, _stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }));
      child.stdin?.end();
    });
    expect(real.code).toBe(2);
    expect(real.stderr).toMatch(/discard of 2 dead letter\(s\) needs confirmation/);
    expect(await list()).toHaveLength(2);

    // The real command on a terminal (a pty from script(1)): it asks, and "n" does nothing.
    const onTerminal = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = execFile('script', ['-qec', `${process.execPath} ${bin} dlq discard --all --account DLQA --by dave`, '/dev/null'], { env: { ...process.env, ...env } }, (err, stdout) =>
        done({ code: err ? ((err as { code?: number }).code ?? null) : 0, output: stdout }),
      );
      child.stdout!.once('data', () => child.stdin!.end('n\n'));
    });
    expect(onTerminal.output).toMatch(/Discard 2 dead letters \(2 INVALID_PAYLOAD\)\? \[y\/N\]/);
    expect(onTerminal.code).toBe(1);
    expect(await list()).toHaveLength(2);
    expect(JSON.parse((await opensimCli('audit', ['--json', '--by', 'dave'], env)).out)).toEqual([]);
  }, 60_000);
});
