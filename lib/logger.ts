import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

/**
 * Paths that may carry a secret: tokens, deployment keys, fingerprints and the raw fingerprint signals.
 * pino replaces them with "[redacted]" wherever they appear in a log object.
 */
const redactPaths = [
  'token',
  '*.token',
  'deploymentKey',
  '*.deploymentKey',
  'DeploymentKey',
  '*.DeploymentKey',
  'fingerprint',
  '*.fingerprint',
  'signals',
  '*.signals',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["user-agent"]',
  'req.headers["accept-language"]',
  'req.headers["x-forwarded-for"]',
  'req.headers["x-twilio-sec-usersettings"]',
  'req.headers["x-twilio-sec-decoders"]',
  'req.headers["x-twilio-sec-webchatinfo"]',
];

export type { Logger };

export function createLogger(name: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceIds,
    },
    destination,
  );
}

/** Links a log line to its trace while tracing is on (lib/telemetry.ts); without a tracer there is no span. */
function traceIds(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
