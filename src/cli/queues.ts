import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../infra/redis.js';
import { loadConfig } from '../config/config.js';
import { naming } from '../messaging/subjects.js';
import { rolloverQueueName } from '../rollover/month-rollover.js';
import { intakeStats, queueStats, type IntakeStats, type QueueStats } from '../operations/queue-stats.js';
import { commandQueueNames } from '../queues/partitioning.js';
import { formatAge, processIo, table, UsageError, type CliIo } from './io.js';
import { hostOf, withNats } from './operator-connections.js';

const USAGE = `usage: opensim queues [--window MINUTES] [--json]

Per command queue and the month rollover's queue: jobs per state, age of the oldest waiting job, and the failure rate
(failed / finished) over the last --window minutes (default 60; BullMQ keeps a week of
per-minute counts). The first line is the stage before the queues: commands waiting in
JetStream for the intake.
`;

/** `opensim queues`: what waits where. */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  let values;
  try {
    try {
      ({ values } = parseArgs({ args, options: { window: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const window = values.window === undefined ? 60 : Number(values.window);
    if (!Number.isInteger(window) || window < 1 || window > 10_080) throw new UsageError(`--window '${values.window}': expected minutes between 1 and 10080`);
    const config = loadConfig(io.env);
    const names = naming(config.OPENSIM_SUBJECT_PREFIX);
    // Typed Redis for the queues until they take RedisClient (a Cluster with a cluster URL; src/infra/redis.ts).
    const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5000 }) as Redis;
    redis.on('error', () => {});
    const rollover = new Queue(rolloverQueueName(config.OPENSIM_SUBJECT_PREFIX), { connection: redis });
    const queues: Queue[] = [];
    try {
      await redis.ping().catch((err: Error) => {
        throw new Error(`cannot reach Redis at ${hostOf(config.REDIS_URL)} (REDIS_URL): ${err.message}`);
      });
      // The configured queues and any other command queue still there (another partition count,
      // an earlier version's untagged ones, draining): what waits in them waits for the workers too.
      for (const name of await commandQueueNames(redis, config.OPENSIM_SUBJECT_PREFIX, config.OPENSIM_PARTITIONS)) queues.push(new Queue(name, { connection: redis }));
      const [stats, intake] = await Promise.all([queueStats([...queues, rollover], window), withNats(config, async (nc) => intakeStats(await nc.jetstreamManager(), names))]);
      if (values.json) io.out(`${JSON.stringify({ windowMinutes: window, intake, queues: stats }, null, 2)}\n`);
      else io.out(render(stats, intake, window));
      return 0;
    } finally {
      await Promise.all([...queues, rollover].map((q) => q.close()));
      redis.disconnect();
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`opensim queues: ${err.message}\n${USAGE}`);
    return 2;
  }
}

function render(stats: QueueStats[], intake: IntakeStats | null, window: number): string {
  const intakeLine = intake
    ? `intake (${intake.stream} / ${intake.consumer}): ${intake.pending} pending, ${intake.ackPending} being taken in, ${intake.redelivered} redelivered\n\n`
    : 'intake: no command consumer yet (no worker has started)\n\n';
  const rate = (q: QueueStats) => (q.failureRate === null ? '-' : `${(q.failureRate * 100).toFixed(1)}% (${q.failedInWindow}/${q.completedInWindow + q.failedInWindow})`);
  const total = (key: keyof QueueStats['counts']) => String(stats.reduce((n, q) => n + q.counts[key], 0));
  const oldest = stats.reduce<number | null>((max, q) => (q.oldestWaitingMs === null ? max : Math.max(max ?? 0, q.oldestWaitingMs)), null);
  const finished = stats.reduce((n, q) => n + q.completedInWindow + q.failedInWindow, 0);
  const failed = stats.reduce((n, q) => n + q.failedInWindow, 0);
  const rows = stats.map((q) => [q.queue, String(q.counts.waiting), String(q.counts.prioritized), String(q.counts.active), String(q.counts.delayed), String(q.counts.completed), String(q.counts.failed), formatAge(q.oldestWaitingMs), rate(q)]);
  rows.push(['total', total('waiting'), total('prioritized'), total('active'), total('delayed'), total('completed'), total('failed'), formatAge(oldest), finished === 0 ? '-' : `${((failed / finished) * 100).toFixed(1)}% (${failed}/${finished})`]);
  return intakeLine + table(['QUEUE', 'WAITING', 'PRIORITIZED', 'ACTIVE', 'DELAYED', 'COMPLETED', 'FAILED', 'OLDEST WAITING', `FAILURE RATE ${window}m`], rows);
}
