/**
 * Whether the standard OTEL_* variables ask for traces, and where they go. Off unless asked:
 *   - OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none: off, whatever else is set;
 *   - OTEL_TRACES_EXPORTER=otlp (OTLP over HTTP, JSON) or console (spans printed on stdout): on;
 *   - else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT set: on, OTLP there;
 *   - else off (OTEL_SERVICE_NAME alone names the service, it switches nothing on).
 * The SDK and the exporter read the rest themselves (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT, …).
 */
export type TracingSettings = { on: false } | { on: true; exporter: 'otlp' | 'console' };

const EXPORTERS = ['otlp', 'console', 'none'] as const;

export function tracingSettings(env: Record<string, string | undefined>): TracingSettings {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { on: false };
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const unknown = named.filter((name) => !(EXPORTERS as readonly string[]).includes(name));
  // Refused at start-up, by name: a typo would otherwise switch tracing off without a word.
  if (unknown.length > 0) throw new Error(`OTEL_TRACES_EXPORTER: unknown exporter ${unknown.map((n) => `'${n}'`).join(', ')} (this service knows otlp, console and none)`);
  if (named.includes('none')) return { on: false };
  if (named.includes('otlp')) return { on: true, exporter: 'otlp' };
  if (named.includes('console')) return { on: true, exporter: 'console' };
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return { on: true, exporter: 'otlp' };
  return { on: false };
}
