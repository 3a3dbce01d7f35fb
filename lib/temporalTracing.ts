import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { activeTelemetry } from './telemetry';

/**
 * The Temporal OpenTelemetry plugin for a `Client`, a `Worker` or `bundleWorkflowCode`, or none while tracing is
 * off. Client and worker carry the trace in workflow and activity headers; the workflow's own spans leave the
 * sandbox through a sink into this process's span processor. A prebuilt workflow bundle must be built with the
 * same plugins, or the workflow interceptors are missing from it and the workflow spans are lost.
 */
export function temporalPlugins(): OpenTelemetryPlugin[] {
  const telemetry = activeTelemetry();
  if (!telemetry) return [];
  return [new OpenTelemetryPlugin({ resource: telemetry.resource, spanProcessor: telemetry.spanProcessor })];
}
