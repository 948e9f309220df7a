/** Latency summary of a sample in milliseconds (nearest-rank percentiles). */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? NaN) };
}

/** One window of a run: when it ended (s from the first publish), how many completed in it, their percentiles. */
export interface LatencyWindow {
  t: number;
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Latency percentiles over a run, per window of completion time (`atMs` from the run's start). */
export function latencySeries(samples: readonly { atMs: number; latencyMs: number }[], windowMs = 1000): LatencyWindow[] {
  const windows = new Map<number, number[]>();
  for (const s of samples) {
    const w = Math.floor(s.atMs / windowMs);
    const list = windows.get(w);
    if (list) list.push(s.latencyMs);
    else windows.set(w, [s.latencyMs]);
  }
  return [...windows]
    .sort((a, b) => a[0] - b[0])
    .map(([w, list]) => {
      const { p50, p95, p99 } = summarize(list);
      return { t: round(((w + 1) * windowMs) / 1000, 2), count: list.length, p50, p95, p99 };
    });
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Samples a process's resident set size from /proc (Linux), keeping the peak and the series. */
export class RssSampler {
  peakMb = 0;
  /** The peak since the last `phase()`: each measurement reports its own. */
  phasePeakMb = 0;
  readonly series: { atMs: number; rssMb: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(private readonly pids: () => number[], everyMs = 500) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    let total = 0;
    for (const pid of this.pids()) total = Math.max(total, rssMb(pid));
    if (total === 0) return;
    this.peakMb = Math.max(this.peakMb, total);
    this.phasePeakMb = Math.max(this.phasePeakMb, total);
    this.series.push({ atMs: Date.now() - this.started, rssMb: round(total) });
  }

  /** Starts a new measurement: returns the peak of the one that ended. */
  phase(): number {
    const peak = this.phasePeakMb;
    this.phasePeakMb = 0;
    return round(peak);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

import { readFileSync } from 'node:fs';

export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}
