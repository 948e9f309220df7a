import type { Queue } from 'bullmq';
import type { Metrics } from '../../metrics/metrics.js';

/** Jobs read per state: the scheduler adds one a month, and keeps the last 100 completed and failed. */
const RECENT = 10;

/**
 * When the month rollover last succeeded, and when the last rollover that is due was due, read
 * at scrape time from its queue (so every process, and a restarted one, reports the same). A
 * rollover is missed when the second is later than the first for long (deploy/prometheus).
 */
export function registerRolloverGauges(metrics: Metrics, queue: Queue): void {
  metrics.gauge('opensim_rollover_last_success_timestamp_seconds', 'When the last month rollover job completed (Unix seconds; 0 if none yet)', [], async () => {
    const [last] = await queue.getJobs(['completed'], 0, 0, false);
    return [{ labels: {}, value: (last?.finishedOn ?? 0) / 1000 }];
  });
  metrics.gauge('opensim_rollover_last_due_timestamp_seconds', 'When the latest month rollover that is due was due, done or not (Unix seconds; 0 if none yet)', [], async () => {
    const now = Date.now();
    const jobs = await queue.getJobs(['completed', 'failed', 'active', 'wait', 'delayed', 'prioritized'], 0, RECENT - 1, false);
    const due = jobs.map((job) => job.timestamp + (job.opts.delay ?? 0)).filter((at) => at <= now);
    return [{ labels: {}, value: due.length === 0 ? 0 : Math.max(...due) / 1000 }];
  });
}
