import { connect, type NatsConnection } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import type { CloudEvent } from '../src/contract/messages.js';
import type { UsageUpdatedData } from '../src/domain/events.js';
import { accountOf, lineId } from './fleet.js';
import { publishPaced } from './publish-paced.js';
import { round, summarize, type LatencySummary } from './stats.js';

export interface UsageResult {
  offeredPerSecond: number | null;
  records: number;
  lines: number;
  /** Records counted per second: the last line's final count, from the first publish. */
  absorbedPerSecond: number;
  publishedPerSecond: number;
  /** Per record: its publish → the first `usage.updated` that counts it (coalesced: see the run's interval). */
  eventLagMs: LatencySummary;
  usageUpdatedEvents: number;
  /** Publishes that failed. */
  errors: number;
  /** Records no `usage.updated` had counted when the wait ended. */
  recordsNotCounted: number;
  seconds: number;
}

const BYTES = 1000; // small: no threshold is crossed, so the run measures counting alone

/**
 * Publishes usage records at full speed (a window of 1,024 unacknowledged publishes) or at a
 * fixed offered rate, spread
 * over `lines` lines, and waits until a `usage.updated` has counted every record. Usage is counted per line and month, so each run uses lines no earlier run touched.
 */
export class UsageLoad {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  static async open(natsUrl: string, prefix: string): Promise<UsageLoad> {
    return new UsageLoad(await connect({ servers: natsServers(natsUrl) }), prefix);
  }

  async run(options: { firstLine: number; lines: number; records: number; rate: number | null; runId: string; timeoutMs?: number }): Promise<UsageResult> {
    const { firstLine, lines, records, rate, runId } = options;
    // Per line: how many records were sent, and when each was, until an event counts it.
    const sentCount = new Map<string, number>();
    const waiting = new Map<string, { count: number; sentAt: number }[]>();
    let uncounted = 0;
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
        const queue = waiting.get(event.data.lineId);
        if (!queue) return;
        const now = performance.now();
        while (queue.length > 0 && queue[0]!.count * BYTES <= event.data.usage.usedBytes) {
          lags.push(now - queue.shift()!.sentAt);
          uncounted--;
          lastCountedAt = now;
        }
        if (uncounted === 0 && !sending) done();
      },
    });
    await this.nc.flush();
    const js = this.nc.jetstream();
    const occurredAt = new Date().toISOString();
    const { t0, publishedAt, errors } = await publishPaced(js, records, rate, 1024, (k) => {
      const i = firstLine + (k % lines);
      const id = lineId(i);
      const count = (sentCount.get(id) ?? 0) + 1;
      sentCount.set(id, count);
      const queue = waiting.get(id) ?? [];
      waiting.set(id, queue);
      queue.push({ count, sentAt: performance.now() });
      uncounted++;
      const body = { usageId: `${runId}-${k}`, clientAccountId: accountOf(i), lineId: id, zone: k % 5 === 0 ? 'EU' : 'FR', bytes: BYTES, costCents: 0, occurredAt };
      return { subject: `${this.prefix}.usage.${body.clientAccountId}`, body: JSON.stringify(body), msgId: body.usageId };
    });
    sending = false;
    if (uncounted === 0) done();
    const timeout = new Promise<void>((r) => setTimeout(r, options.timeoutMs ?? 300_000).unref());
    await Promise.race([allDone, timeout]);
    sub.unsubscribe();
    const seconds = ((lastCountedAt || performance.now()) - t0) / 1000;
    return {
      offeredPerSecond: rate,
      records,
      lines,
      absorbedPerSecond: round(records / seconds),
      publishedPerSecond: round(records / ((publishedAt - t0) / 1000)),
      eventLagMs: summarize(lags),
      usageUpdatedEvents: events,
      errors,
      recordsNotCounted: uncounted,
      seconds: round(seconds, 2),
    };
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
