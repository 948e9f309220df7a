import type { Pipeline } from '../platform/pipeline.js';
import { settlesWithin } from '../runtime/grace.js';
import type { Role, RoleContext } from '../platform/role.js';
import { dueUsageUpdated, type LineMonth } from '../domain/index.js';
import { toOutboxEntry } from '../messaging/cloud-events.js';
import { publishOutboxes, relayWhenDeferred } from '../outbox/publish-outboxes.js';
import type { Collections, LineDocument } from '../store/documents.js';
import { rereadWhileLost, writeLines, type LineWrite } from '../store/line-writes.js';
import { lineMonthKey } from '../store/monitoring-documents.js';
import { dueNoticeMarkers, settleNoticeMarkers } from '../store/notice-markers.js';

type NoticeLine = Pick<LineDocument, '_id' | 'version' | 'month' | 'usageNotice' | 'outbox'>;

const PROJECTION = { version: 1, month: 1, usageNotice: 1, outbox: 1 } as const;

/** Lines looked at per pass, at most: a pass that finds a full page runs again at once. */
const PAGE = 500;

/**
 * Sends the `usage.updated` that coalescing held back (usage-notice.ts), once due: the last
 * update of a line always goes out, at most one interval after the one before. Each send is a
 * version-guarded update of the line (the notice and the event in its outbox), like any other
 * change of the line; several processes may sweep, one wins each line. The lines due are found
 * by their markers (store/notice-markers.ts), not by a query over every line.
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

  /** Until the next pass: at the pace, or sooner when a notice held back here falls due sooner (a late notice is lag). */
  private period(): number {
    const dueIn = this.pipeline.noticeSweeps.requestedAt() - this.pipeline.clock().getTime();
    return Math.max(10, Math.min(this.pace(), dueIn));
  }

  private pace(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.context.config.OPENSIM_USAGE_UPDATED_INTERVAL_MS / 4)));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // Due times are in the pipeline's clock, as the notices' `dueAt`.
      const started = this.pipeline.clock().getTime();
      const schedule = this.pipeline.noticeSweeps;
      if (!schedule.due(started)) return this.schedule(this.period());
      this.running = this.sweep().then(
        (sent) => {
          if (sent > 0) this.context.logger.debug({ markers: sent, ms: this.pipeline.clock().getTime() - started }, 'usage notices pass');
          schedule.swept(started, sent < PAGE);
          this.schedule(sent >= PAGE ? 0 : this.period());
        },
        (err) => {
          // Not swept: what was asked for stays asked for, and the next pass, one pace later, retries it.
          this.context.logger.debug({ err }, 'usage notices pass incomplete; next pass retries');
          this.schedule(this.pace());
        },
      );
    }, ms);
  }

  /** One pass: returns how many markers were looked at. */
  async sweep(): Promise<number> {
    const c = this.pipeline.collections;
    const now = this.pipeline.clock().toISOString();
    // Markers first, then the lines: a marker may then be settled after this pass's own write of its line.
    const markers = new Map((await dueNoticeMarkers(c, now, PAGE)).map((m) => [m._id, m]));
    if (markers.size === 0) return 0;
    let todo = await readLines(c, [...markers.keys()]);
    // A marker of no line points at nothing (lines are never deleted: a database dropped under it).
    await settleNoticeMarkers(c, [...markers.values()].filter((m) => !todo.some((line) => line._id === m._id)).map((marker) => ({ marker, dueAt: null })));
    await rereadWhileLost(`held-back usage.updated of ${markers.size} lines`, async () => {
      const writes: LineWrite[] = [];
      for (const line of todo) writes.push(await this.noticeWrite(c, line, now));
      const results = await writeLines(c, writes, now);
      const committed = results.flatMap((r) => (r.status === 'committed' ? [r] : []));
      await publishOutboxes(c, this.context.connections.nats()?.jetstream(), c.lines, committed.map((r) => ({ _id: r.lineId, outbox: r.outbox, markers: r.markers })), { onDeferred: relayWhenDeferred(this.pipeline.outboxSweeps, this.context.logger, 'usage notices') });
      const settled = committed.map((r) => ({ marker: markers.get(r.lineId)!, dueAt: dueAfter(writes.find((w) => w.lineId === r.lineId)!) }));
      await settleNoticeMarkers(c, settled);
      // A notice left due later (its marker moved there): this process sweeps for it then, not at the full pace.
      for (const { dueAt } of settled) if (dueAt) this.pipeline.noticeSweeps.request(Date.parse(dueAt));
      const lost = results.filter((r) => r.status !== 'committed').map((r) => r.lineId);
      if (lost.length === 0) return markers.size;
      todo = await readLines(c, lost);
      return 'lost';
    });
    return markers.size;
  }

  /**
   * The write of one line whose marker is due: its held-back update when due; otherwise the
   * notice as it is (sent meanwhile by a usage write, or due later) — a write all the same,
   * which fences the line before its marker is settled (store/notice-markers.ts).
   */
  private async noticeWrite(c: Collections, line: NoticeLine, now: string): Promise<LineWrite> {
    const prefix = this.context.config.OPENSIM_SUBJECT_PREFIX;
    const notice = line.usageNotice ?? null;
    const base = { lineId: line._id, version: line.version, asRead: { outbox: line.outbox ?? [], noticeDueAt: notice?.dueAt ?? null } };
    if (!notice?.dueAt || notice.dueAt > now) return { ...base, set: { usageNotice: notice }, outbox: [] };
    // The held-back update of a month the line has left is built from that month's archive.
    const record: LineMonth | null = line.month?.month !== notice.month ? ((await c.lineMonths.findOne({ _id: lineMonthKey(line._id, notice.month) }))?.record ?? null) : (line.month ?? null);
    const decided = dueUsageUpdated(notice, record, now);
    return decided
      ? { ...base, set: { usageNotice: decided.notice }, outbox: [toOutboxEntry(prefix, decided.event, now)] }
      : // Nothing to build it from (its month's record is gone): drop the notice rather than retry forever.
        { ...base, set: { usageNotice: { ...notice, dueAt: null } }, outbox: [] };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await settlesWithin(this.running ?? Promise.resolve(), this.context.config.OPENSIM_SHUTDOWN_GRACE_MS);
  }
}

async function readLines(c: Collections, ids: readonly string[]): Promise<NoticeLine[]> {
  return (await c.lines.find({ _id: { $in: [...ids] } }, { projection: PROJECTION }).toArray()) as NoticeLine[];
}

/** When the line's notice is due after the write (`null`: none held back). */
function dueAfter(write: LineWrite): string | null {
  return (write.set.usageNotice as { dueAt?: string | null } | null)?.dueAt ?? null;
}
