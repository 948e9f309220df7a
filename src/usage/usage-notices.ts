import type { Pipeline } from '../platform/pipeline.js';
import { settlesWithin } from '../runtime/grace.js';
import type { Role, RoleContext } from '../platform/role.js';
import { dueUsageUpdated, type LineMonth } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { publishOutboxes } from '../outbox/publish-outboxes.js';
import type { LineDocument } from '../store/documents.js';
import { rereadWhileLost, writeLines, type LineWrite } from '../store/line-writes.js';
import { lineMonthKey } from '../store/monitoring-documents.js';

type NoticeLine = Pick<LineDocument, '_id' | 'version' | 'month' | 'usageNotice'>;

/** Lines looked at per pass, at most: a pass that finds a full page runs again at once. */
const PAGE = 500;

/**
 * Sends the `usage.updated` that coalescing held back (usage-notice.ts), once due: the last
 * update of a line always goes out, at most one interval after the one before. Each send is a
 * version-guarded update of the line (the notice and the event in its outbox), like any other
 * change of the line; several processes may sweep, one wins each line.
 */
export class UsageNotices implements Role {
  readonly name = 'usage-notices';
  private context!: RoleContext;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly pipeline: Pipeline) {}

  async start(context: RoleContext): Promise<void> {
    this.context = context;
    this.schedule(this.period());
  }

  private period(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.context.config.OPENSIM_USAGE_UPDATED_INTERVAL_MS / 4)));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // Due times are in the pipeline's clock, as the notices' `dueAt`.
      const started = this.pipeline.clock().getTime();
      const schedule = this.pipeline.noticeSweeps;
      if (!schedule.due(started)) return this.schedule(this.period());
      this.running = this.sweep()
        .catch((err) => {
          this.context.logger.debug({ err }, 'usage notices pass incomplete; next pass retries');
          schedule.request(started);
          return 0;
        })
        .then((sent) => {
          schedule.swept(started, sent < PAGE);
          this.schedule(sent >= PAGE ? 0 : this.period());
        });
    }, ms);
  }

  /** One pass: returns how many lines were looked at. */
  async sweep(): Promise<number> {
    const c = this.pipeline.collections;
    const now = this.pipeline.clock().toISOString();
    const projection = { version: 1, month: 1, usageNotice: 1 };
    let todo = (await c.lines.find({ 'usageNotice.dueAt': { $lte: now } }, { projection }).limit(PAGE).toArray()) as NoticeLine[];
    const looked = todo.length;
    const prefix = this.context.config.OPENSIM_SUBJECT_PREFIX;
    await rereadWhileLost(`held-back usage.updated of ${looked} lines`, async () => {
      const writes: LineWrite[] = [];
      for (const line of todo) {
        const notice = line.usageNotice ?? null;
        // Sent meanwhile by another process (the line was written since the page was read).
        if (!notice?.dueAt || notice.dueAt > now) continue;
        // The held-back update of a month the line has left is built from that month's archive.
        const record: LineMonth | null = line.month?.month !== notice.month ? ((await c.lineMonths.findOne({ _id: lineMonthKey(line._id, notice.month) }))?.record ?? null) : (line.month ?? null);
        const decided = dueUsageUpdated(notice, record, now);
        writes.push(
          decided
            ? { lineId: line._id, version: line.version, set: { usageNotice: decided.notice }, outbox: [toOutboxEntry(prefix, decided.event, now)] }
            : // Nothing to build it from (its month's record is gone): drop the notice rather than retry forever.
              { lineId: line._id, version: line.version, set: { usageNotice: { ...notice, dueAt: null } }, outbox: [] },
        );
      }
      const results = await writeLines(c, writes, now);
      await publishOutboxes(this.context.connections.nats()?.jetstream(), c.lines, results.flatMap((r) => (r.status === 'committed' ? [{ _id: r.lineId, outbox: r.outbox }] : [])));
      const lost = results.filter((r) => r.status !== 'committed').map((r) => r.lineId);
      if (lost.length === 0) return looked;
      todo = (await c.lines.find({ _id: { $in: lost } }, { projection }).toArray()) as NoticeLine[];
      return 'lost';
    });
    return looked;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await settlesWithin(this.running ?? Promise.resolve(), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}
