import type { LatencySummary, LatencyWindow } from './stats.js';
import { svgDocument, type Chart, type Series } from './svg.js';

/** A plan-change measurement as the results file keeps it. */
export interface RunRecord {
  kind: string;
  lines: number;
  workers: number;
  partitions: number;
  offeredPerSecond: number | null;
  throughputPerSecond: number;
  latencyMs: LatencySummary;
  peakWorkerRssMb: number;
  series: LatencyWindow[];
}

export interface StartRecord {
  lines: number;
  workers: number;
  partitions: number;
  readyMs: (number | null)[];
  firstOutcomeMs: number | null;
}

export interface UsageRecordRun {
  offeredPerSecond: number | null;
  absorbedPerSecond: number;
  eventLagMs: LatencySummary;
  peakWorkerRssMb: number;
}

export interface Figures {
  label: string;
  at: string;
  source: string;
  ceilings: { mongoGuardedUpdatesPerSecond: number; mongoBulkGuardedUpdatesPerSecond: number };
  runs: RunRecord[];
  starts: StartRecord[];
  usage: UsageRecordRun[];
}

/**
 * The run's figures: latency percentiles over each plan-change measurement; throughput against
 * lines, worker processes and partitions; time to ready against lines; peak RSS of each
 * measurement against the 250 MB target.
 */
export function figuresSvg(r: Figures): string {
  const half = r.ceilings.mongoGuardedUpdatesPerSecond / 2;
  const target = { y: half, label: `0.5 × guarded-update ceiling (${Math.round(half)}/s)` };
  const first = r.runs[0];
  const latencyCharts: Chart[] = r.runs
    .filter((run) => first && run.lines === first.lines && run.workers === first.workers && run.partitions === first.partitions && !run.kind.startsWith('warm'))
    .map((run) => ({
      title: `Latency over the run: ${run.kind} (${run.offeredPerSecond ?? 'max'}/s offered, ${run.throughputPerSecond}/s done)`,
      x: 's from the first publish (by completion)',
      y: 'publish → outcome, ms (log)',
      logY: true,
      series: (['p50', 'p95', 'p99'] as const).map((p) => ({ name: p, points: run.series.map((w) => [w.t, w[p]] as const) })),
      ...(run.offeredPerSecond === 100 ? { rule: { y: 250, label: 'p99 target 250 ms' } } : {}),
    }));
  const fullSpeed = r.runs.filter((run) => run.kind === 'full-speed');
  const byWorkers = groupBy(fullSpeed, (run) => `${run.workers} worker${run.workers > 1 ? 's' : ''}`);
  const byLines = groupBy(fullSpeed, (run) => `${run.lines.toLocaleString('en')} lines`);
  const sweep = r.runs.filter((run) => run.kind === 'partition-sweep');
  const charts: Chart[] = [
    ...latencyCharts,
    { title: 'Plan changes/s at full speed against lines', x: 'lines (log)', y: 'plan changes/s', logX: true, rule: target, series: seriesOf(byWorkers, (run) => [run.lines, run.throughputPerSecond]) },
    { title: 'Plan changes/s at full speed against worker processes', x: 'worker processes', y: 'plan changes/s', rule: target, series: seriesOf(byLines, (run) => [run.workers, run.throughputPerSecond]) },
    { title: 'Plan changes/s at full speed against partitions', x: 'OPENSIM_PARTITIONS', y: 'plan changes/s', logX: true, rule: target, series: [{ name: 'full speed', points: sweep.map((run) => [run.partitions, run.throughputPerSecond] as const) }] },
    { title: 'Time to ready against lines', x: 'lines (log)', y: 'ms (log)', logX: true, logY: true, series: readySeries(r.starts) },
    {
      title: 'Peak worker RSS per measurement',
      x: 'measurement, in run order (plan changes, then usage)',
      y: 'MB',
      rule: { y: 250, label: 'target 250 MB' },
      series: [
        { name: 'plan changes', points: r.runs.map((run, k) => [k + 1, run.peakWorkerRssMb] as const) },
        { name: 'usage', points: r.usage.map((u, k) => [r.runs.length + k + 1, u.peakWorkerRssMb] as const) },
      ],
    },
  ];
  const subtitle = `${r.label} · ${r.at} · ${r.source} · guarded-update ceiling ${r.ceilings.mongoGuardedUpdatesPerSecond}/s, in bulk ${r.ceilings.mongoBulkGuardedUpdatesPerSecond}/s`;
  return svgDocument('opensim bench', subtitle, charts);
}

function readySeries(starts: readonly StartRecord[]): Series[] {
  const first = starts.filter((s) => s.workers === starts[0]?.workers);
  return [
    { name: '/readyz 200', points: first.map((s) => [s.lines, Math.max(...s.readyMs.map((ms) => ms ?? Number.NaN))] as const) },
    { name: 'first request applied', points: first.map((s) => [s.lines, s.firstOutcomeMs ?? Number.NaN] as const) },
  ];
}

function seriesOf(groups: Map<string, RunRecord[]>, point: (run: RunRecord) => readonly [number, number]): Series[] {
  return [...groups].map(([name, runs]) => ({ name, points: runs.map(point).sort((a, b) => a[0] - b[0]) }));
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
