import { type Context, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface Telemetry {
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Flushes the spans still buffered, then stops tracing. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** Where spans go instead of the exporter `OTEL_TRACES_EXPORTER` names (tests pass an in-memory one). */
  spanProcessor?: SpanProcessor;
  env?: NodeJS.ProcessEnv;
  /**
   * false: a request's `traceparent`, `tracestate` and `baggage` are never read, so every server span starts a
   * trace of its own (the edge: a client must not join, or flood, someone else's trace). Outgoing requests still
   * carry this process's trace context. Default true.
   */
  continueIncomingTraces?: boolean;
}

/** W3C trace context written on outgoing requests, never read from incoming ones (and no baggage either way). */
class OutgoingTraceContext extends W3CTraceContextPropagator {
  override extract(context: Context): Context {
    return context;
  }
}

let active: Telemetry | undefined;

/**
 * Starts tracing for this process: W3C `traceparent` in and out of every node:http server and client and
 * every undici request (the internal service client, lib/http/serviceClient.ts, and the edge's proxy). Off unless
 * `OTEL_TRACES_EXPORTER` is `otlp` (endpoint and headers from the standard `OTEL_EXPORTER_OTLP_*` variables) or
 * `console`: then nothing is registered at all, so an untraced process pays nothing. Idempotent: later calls return the first result.
 * Call it before the process serves or sends its first request.
 */
export function startTelemetry(serviceName: string, options: TelemetryOptions = {}): Telemetry | undefined {
  if (active) return active;
  const spanProcessor = options.spanProcessor ?? processorFromEnv(options.env ?? process.env);
  if (!spanProcessor) return undefined;

  const resource = Resource.default().merge(new Resource({ 'service.name': serviceName }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register(
    options.continueIncomingTraces === false ? { propagator: new OutgoingTraceContext() } : {},
  );
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would bury the traces that matter.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
      }),
      new UndiciInstrumentation(),
    ],
  });
  // The instrumentation patches node:http when it is next required; an entry point has usually loaded it
  // already (Koa), so require it now: the patch changes the shared module object in place.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a static import would run before the hook
  for (const name of ['http', 'https']) require(name);
  active = {
    resource,
    spanProcessor,
    shutdown: async () => {
      unregister();
      await provider.shutdown();
      trace.disable();
      active = undefined;
    },
  };
  return active;
}

/** The tracing this process started, if any (the Temporal plugin needs its resource and span processor). */
export const activeTelemetry = (): Telemetry | undefined => active;

function processorFromEnv(env: NodeJS.ProcessEnv): SpanProcessor | undefined {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'none').split(',').map((name) => name.trim().toLowerCase());
  if (exporters.includes('otlp')) return new BatchSpanProcessor(new OTLPTraceExporter());
  if (exporters.includes('console')) return new BatchSpanProcessor(new ConsoleSpanExporter());
  return undefined;
}
