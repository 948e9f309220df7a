import { connect, type NatsConnection } from 'nats';
import type { CloudEvent } from '../src/contract/messages.js';
import type { UsageUpdatedData } from '../src/domain/events.js';
import { accountOf, lineId } from './fleet.js';
import { round, summarize, type LatencySummary } from './stats.js';

export interface UsageResult {
  records: number;
  lines: number;
  /** Records counted per second: the last line's final count, from the first publish. */
  absorbedPerSecond: number;
  publishedPerSecond: number;
  /** Per line: publish of its last record → the `usage.updated` that counts it. */
  eventLagMs: LatencySummary;
  usageUpdatedEvents: number;
  /** Publishes that failed. */
  errors: number;
  /** Lines whose records were not all counted when the wait ended. */
  linesNotCounted: number;
  seconds: number;
}

const BYTES = 1000; // small: no threshold is crossed, so the run measures counting alone

/**
 * Publishes usage records at full speed (a window of 1,024 unacknowledged publishes), spread
 * over `lines` lines, and waits until the `usage.updated` of every line counts all of its
 * records. Usage is counted per line and month, so each run uses lines no earlier run touched.
 */
export class UsageLoad {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  static async open(natsUrl: string, prefix: string): Promise<UsageLoad> {
    return new UsageLoad(await connect({ servers: natsUrl }), prefix);
  }

  async run(options: { firstLine: number; lines: number; records: number; runId: string; timeoutMs?: number }): Promise<UsageResult> {
    const { firstLine, lines, records, runId } = options;
    const perLine = new Map<string, { expected: number; lastSentAt: number }>();
    const lags: number[] = [];
    let events = 0;
    let lastCountedAt = 0;
    let sending = true;
    let done!: () => void;
    const allDone = new Promise<void>((r) => (done = r));
    const sub = this.nc.subscribe(`${this.prefix}.mon.>`, {
      callback: (_err, msg) => {
        const event = msg.json<CloudEvent<UsageUpdatedData>>();
        if (event.type !== 'opensim.usage.updated') return;
        events++;
        const line = perLine.get(event.data.lineId);
        if (!line || event.data.usage.usedBytes < line.expected * BYTES) return;
        const now = performance.now();
        lags.push(now - line.lastSentAt);
        lastCountedAt = now;
        perLine.delete(event.data.lineId);
        if (perLine.size === 0 && sending === false) done();
      },
    });
    await this.nc.flush();
    const js = this.nc.jetstream();
    let errors = 0;
    const occurredAt = new Date().toISOString();
    const t0 = performance.now();
    const window: Promise<unknown>[] = [];
    for (let k = 0; k < records; k++) {
      const i = firstLine + (k % lines);
      const id = lineId(i);
      const line = perLine.get(id) ?? { expected: 0, lastSentAt: 0 };
      line.expected++;
      line.lastSentAt = performance.now();
      perLine.set(id, line);
      const body = { usageId: `${runId}-${k}`, clientAccountId: accountOf(i), lineId: id, zone: k % 5 === 0 ? 'EU' : 'FR', bytes: BYTES, costCents: 0, occurredAt };
      window.push(
        js.publish(`${this.prefix}.usage.${body.clientAccountId}`, JSON.stringify(body), { msgID: body.usageId }).catch(() => {
          errors++;
        }),
      );
      if (window.length >= 1024) await Promise.all(window.splice(0));
    }
    await Promise.all(window);
    const publishedAt = performance.now();
    sending = false;
    if (perLine.size === 0) done();
    const timeout = new Promise<void>((r) => setTimeout(r, options.timeoutMs ?? 300_000).unref());
    await Promise.race([allDone, timeout]);
    sub.unsubscribe();
    const seconds = ((lastCountedAt || performance.now()) - t0) / 1000;
    return {
      records,
      lines,
      absorbedPerSecond: round(records / seconds),
      publishedPerSecond: round(records / ((publishedAt - t0) / 1000)),
      eventLagMs: summarize(lags),
      usageUpdatedEvents: events,
      errors,
      linesNotCounted: perLine.size,
      seconds: round(seconds, 2),
    };
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
