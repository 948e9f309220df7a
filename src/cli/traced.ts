import { startTracing } from '../tracing/start-tracing.js';

type Entry = (argv: string[]) => Promise<number>;

/**
 * Runs an entry point of the process with tracing started first when the OTEL_* variables ask
 * for it (docs/operations.md, "Tracing"). `load` imports the entry only then: the MongoDB instrumentation
 * patches the driver as it is loaded, and a driver loaded before it would go untraced. Spans
 * still buffered are exported once the entry returns.
 */
export async function traced(load: () => Promise<Entry>, argv: string[]): Promise<number> {
  let tracing;
  try {
    tracing = await startTracing();
  } catch (err) {
    process.stderr.write(`opensim: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  try {
    return await (await load())(argv);
  } finally {
    await tracing?.shutdown().catch((err: unknown) => process.stderr.write(`opensim: traces not all exported: ${err instanceof Error ? err.message : String(err)}\n`));
  }
}
