import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { tracingSettings } from './settings.js';
import { setTracingOn } from './spans.js';
import { setJobTracer } from './job-telemetry.js';

export interface Tracing {
  /** Exports what is still buffered, then unregisters everything (the process is about to exit). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Replaces the exporter the variables name, and exports each span as it ends (tests). */
  exporter?: SpanExporter;
}

/**
 * Starts tracing when the OTEL_* variables ask for it (settings.ts), else returns null having
 * loaded and registered nothing. Call it before anything imports `mongodb`: the official
 * instrumentation patches the driver as it is loaded, not after. The entry points (bin/, the
 * compiled src/cli/run.ts) do, then import the command line.
 */
export async function startTracing(env: Record<string, string | undefined> = process.env, options: TracingOptions = {}): Promise<Tracing | null> {
  const settings = tracingSettings(env);
  if (!settings.on) return null;
  // Loaded only now: a process without tracing loads none of the SDK.
  const [sdk, resources, { MongoDBInstrumentation }, { BullMQOtel }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation-mongodb'),
    import('bullmq-otel'),
  ]);
  const exporter = options.exporter ?? (settings.exporter === 'console' ? new sdk.ConsoleSpanExporter() : new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter());
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the default name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'opensim' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const processor = options.exporter ? new sdk.SimpleSpanProcessor(exporter) : new sdk.BatchSpanProcessor(exporter);
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global provider, AsyncLocalStorage context and the W3C trace-context propagator.
  provider.register();
  // A span per MongoDB command inside a traced step (none for background work: requireParentSpan,
  // its default). Statements are recorded with their values replaced by '?': no MSISDN or ICCID.
  const mongo = new MongoDBInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false });
  mongo.setTracerProvider(provider);
  // The job's span (job-telemetry.ts), from the global provider registered above.
  setJobTracer(new BullMQOtel({ tracerName: 'opensim' }));
  setTracingOn(true);
  return {
    async shutdown() {
      setTracingOn(false);
      setJobTracer(undefined);
      mongo.disable();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
