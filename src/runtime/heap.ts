import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived its last full collection before collecting
 * again. By default it grows by up to 4×, so work that holds objects for a second or two — a
 * usage batch of 10,000 records and its documents — leaves old-space garbage that lifted the
 * resident set of a worker to 300–400 MB under a burst while about 90 MB was live (heap
 * snapshots, BENCHMARKS.md "Usage memory"). A bounded factor makes V8 collect sooner instead;
 * it costs a few more full collections and sets no hard cap (no out-of-memory risk). V8 reads
 * the factor each time it recomputes its limits, so it applies to a process already running.
 * 0 leaves V8's own heuristics.
 */
export function boundHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
