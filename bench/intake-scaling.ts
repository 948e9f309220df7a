/**
 * The command intake alone, with 1, 2 and 4 processes (issue 17): how fast commands already in
 * the stream are taken in (parsed, validated, enqueued in BullMQ under the fenced cursor,
 * acknowledged) when no worker runs, so the jobs do nothing. Each run:
 *   1. one process starts the deployment (the stream partitioned by P), then stops;
 *   2. N plan changes over many accounts are published (stored under the P partitions);
 *   3. a gate holds the intake back: the queues recorded as mapped another way, one job in flight
 *      (the partitioning drain of queues/partitioning.ts), while K processes start and join;
 *   4. the gate is lifted (the job removed): the clock runs until N jobs wait in the queues.
 * Printed: commands/s per K, and each process's partitions and commands taken in (from its
 * own log), which shows that the partitions spread over the processes and each takes its share.
 *   npm run bench:intake -- [--commands 20000] [--partitions 8] [--processes 1,2,4]
 * It needs the servers (`bash scripts/services.sh up`, then `source .services/env`).
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { connect, headers } from 'nats';
import { createRedis, scanKeys } from '../src/infra/redis.js';
import { natsServers } from '../src/infra/nats-options.js';
import { naming } from '../src/messaging/subjects.js';
import { commandQueueName } from '../src/queues/command-queues.js';
import { intakeCoordinationKeys } from '../src/queues/intake-keys.js';
import { spawnOpensim, type OpensimProcess } from '../test/support/opensim-process.js';
import type { Redis } from 'ioredis';

const { values } = parseArgs({ options: { commands: { type: 'string', default: '20000' }, partitions: { type: 'string', default: '8' }, processes: { type: 'string', default: '1,2,4' }, accounts: { type: 'string', default: '1000' } } });
const N = Number(values.commands);
const P = Number(values.partitions);
const ACCOUNTS = Number(values.accounts);
const counts = values.processes.split(',').map(Number);

const { NATS_URL, REDIS_URL, MONGO_URL } = process.env;
if (!NATS_URL || !REDIS_URL || !MONGO_URL) {
  console.error('NATS_URL, REDIS_URL and MONGO_URL are needed: bash scripts/services.sh up && source .services/env');
  process.exit(2);
}

async function run(k: number) {
  const prefix = `bi${randomBytes(4).toString('hex')}`;
  const env = { NATS_URL: NATS_URL!, REDIS_URL: REDIS_URL!, MONGO_URL: MONGO_URL!.replace(/\/[^/?]*(\?|$)/, `/${prefix}$1`), OPENSIM_SUBJECT_PREFIX: prefix, OPENSIM_PARTITIONS: String(P), LOG_LEVEL: 'info', OPENSIM_HTTP_PORT: '0' };
  const redis = createRedis(REDIS_URL!) as Redis;
  const nc = await connect({ servers: natsServers(NATS_URL!) });
  const names = naming(prefix);
  const queues = Array.from({ length: P }, (_, p) => new Queue(commandQueueName(prefix, p), { connection: redis }));
  const processes: OpensimProcess[] = [];
  try {
    // 1. The deployment: the stream partitioned by P.
    const first = spawnOpensim(['start', '--roles', 'intake'], env);
    await first.waitForLog((l) => l.msg === 'intake partition taken', 60_000);
    first.child.kill('SIGTERM');
    await first.exited;

    // 2. N commands, stored under the partitions.
    const js = nc.jetstream();
    for (let i = 0; i < N; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, N - i) }, (_, j) => {
          const n = i + j;
          const account = `A${n % ACCOUNTS}`;
          const body = { requestId: `b-${n}`, clientAccountId: account, serviceRef: `SVC-${account}`, lineId: `${account}-L0`, targetResourceId: `${account}-R${n}`, requestedAt: '2026-11-15T10:00:00+01:00' };
          const h = headers();
          h.set('Nats-Msg-Id', body.requestId);
          return js.publish(`${prefix}.cmd.plan-change.${account}`, JSON.stringify(body), { headers: h });
        }),
      );
    }

    // 3. The gate, then K processes.
    const gate = queues[0]!;
    await redis.set(intakeCoordinationKeys(prefix).partitioning, 'bench-gate');
    await gate.add('gate', {}, { jobId: 'gate' });
    for (let i = 0; i < k; i++) processes.push(spawnOpensim(['start', '--roles', 'intake'], env));
    const members = intakeCoordinationKeys(prefix).members;
    while ((await redis.zcard(members)) < k) await new Promise((r) => setTimeout(r, 50));

    // 4. Lifted: until N jobs wait.
    const cpuBefore = processes.map((p) => cpuSeconds(p.child.pid!));
    const started = performance.now();
    await gate.remove('gate');
    const waiting = async () => (await Promise.all(queues.map((q) => q.getWaitingCount()))).reduce((a, b) => a + b, 0);
    while ((await waiting()) < N) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const cpu = processes.map((p, i) => cpuSeconds(p.child.pid!) - cpuBefore[i]!);

    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    const shares = processes.map((p) => {
      const given = p.logs.filter((l) => l.msg === 'intake partition given back');
      return { partitions: given.filter((l) => Number(l.takenIn) > 0).length, takenIn: given.reduce((sum, l) => sum + Number(l.takenIn), 0) };
    }).map((share, i) => ({ ...share, cpuSeconds: Number(cpu[i]!.toFixed(2)), cpuMsPerCommand: Number(((cpu[i]! * 1000) / Math.max(1, share.takenIn)).toFixed(3)) }));
    return { processes: k, commands: N, partitions: P, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(N / seconds), shares };
  } finally {
    for (const p of processes) p.child.kill('SIGKILL');
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    const jsm = await nc.jetstreamManager();
    for (const stream of [names.commandStream, names.usageStream, names.eventStream, names.advisoryStream]) await jsm.streams.delete(stream).catch(() => {});
    for (const key of [...(await scanKeys(redis, `opensim:${prefix}:*`)), ...(await scanKeys(redis, `opensim:{${prefix}-p*`))]) await redis.del(key);
    await nc.close();
    redis.disconnect();
  }
}

/** CPU time of a process so far (user + system), from /proc: what its intake cost, whatever else runs on the machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are the 14th and 15th fields of the line (the 12th and 13th after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const rows = [];
for (const k of counts) {
  const row = await run(k);
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log('\nintake alone (jobs that do nothing), commands taken in per second:');
for (const r of rows) console.log(`  ${r.processes} process(es): ${r.perSecond}/s over ${r.seconds} s; per process: ${r.shares.map((s) => `${s.takenIn} commands from ${s.partitions} partitions (${s.cpuSeconds} CPU-s, ${s.cpuMsPerCommand} ms/command)`).join(', ')}`);
console.log(`  the machine: ${cpus().length} cores shared with the servers; a process's rate bound alone is 1 / (its CPU per command)`);
