import { connect, type NatsConnection } from 'nats';
import { natsServers } from '../src/infra/nats-options.js';
import type { CloudEvent } from '../src/contract/messages.js';
import { planChange } from './fleet.js';
import { publishPaced } from './publish-paced.js';
import { latencySeries, round, summarize, type LatencySummary, type LatencyWindow } from './stats.js';

export interface LoadResult {
  offeredPerSecond: number | null;
  requests: number;
  outcomes: Record<string, number>;
  throughputPerSecond: number;
  latencyMs: LatencySummary;
  errors: number;
  seconds: number;
  /** Latency percentiles per second of the run, by completion time (drawn in the run's SVG). */
  series: LatencyWindow[];
}

/**
 * Publishes plan changes and measures, per request, publish → outcome event. `rate` null means
 * full speed (a window of 512 unacknowledged publishes); otherwise a fixed offered rate.
 */
export class PlanChangeLoad {
  private readonly rounds: Uint32Array;
  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    lines: number,
  ) {
    this.rounds = new Uint32Array(lines);
  }

  static async open(natsUrl: string, prefix: string, maxLines: number): Promise<PlanChangeLoad> {
    return new PlanChangeLoad(await connect({ servers: natsServers(natsUrl) }), prefix, maxLines);
  }

  async run(options: { lines: number; requests: number; rate: number | null; runId: string; timeoutMs?: number }): Promise<LoadResult> {
    const { lines, requests, rate, runId } = options;
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    const completions: { atMs: number; latencyMs: number }[] = [];
    let t0 = performance.now();
    const outcomes: Record<string, number> = {};
    let lastOutcomeAt = 0;
    let done!: () => void;
    const allDone = new Promise<void>((r) => (done = r));
    const sub = this.nc.subscribe(`${this.prefix}.evt.plan-change.>`, {
      callback: (_err, msg) => {
        const event = msg.json<CloudEvent<{ requestId: string }>>();
        const at = sent.get(event.data.requestId);
        if (at === undefined) return;
        sent.delete(event.data.requestId);
        const now = performance.now();
        latencies.push(now - at);
        completions.push({ atMs: now - t0, latencyMs: now - at });
        lastOutcomeAt = now;
        const kind = event.type.split('.').at(-1)!;
        outcomes[kind] = (outcomes[kind] ?? 0) + 1;
        if (latencies.length === requests) done();
      },
    });
    await this.nc.flush();
    const js = this.nc.jetstream();
    // Spread over the whole fleet (and so over services and partitions): a stride coprime with `lines`.
    const stride = strideFor(lines);
    t0 = performance.now();
    const { errors } = await publishPaced(js, requests, rate, 512, (k) => {
      const i = (k * stride) % lines;
      const body = planChange(i, this.rounds[i]!++, runId);
      sent.set(body.requestId, performance.now());
      return { subject: `${this.prefix}.cmd.plan-change.${body.clientAccountId}`, body: JSON.stringify(body), msgId: body.requestId };
    });
    const timeout = new Promise<void>((r) => setTimeout(r, options.timeoutMs ?? 120_000).unref());
    await Promise.race([allDone, timeout]);
    sub.unsubscribe();
    const seconds = ((lastOutcomeAt || performance.now()) - t0) / 1000;
    return {
      offeredPerSecond: rate,
      requests,
      outcomes,
      throughputPerSecond: round(latencies.length / seconds),
      latencyMs: summarize(latencies),
      errors: errors + sent.size,
      seconds: round(seconds, 2),
      series: latencySeries(completions),
    };
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

function strideFor(lines: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let stride = 7919; // a prime, far from 1 so consecutive requests land on different services
  while (gcd(stride, lines) !== 1) stride += 2;
  return stride % lines || 1;
}
