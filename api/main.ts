import { Connection } from '@temporalio/client';
import { encryptedDataConverter, loadCodecKeys } from '../lib/codec/loadCodec';
import { createLogger } from '../lib/logger';
import { ServiceMetrics } from '../lib/http/metrics';
import { onShutdown, serve } from '../lib/http/serve';
import { startTelemetry } from '../lib/telemetry';
import { createApp } from './app';
import { loadApiConfig } from './config';
import { limitInFlight } from './inFlightLimit';
import { createRateLimits } from './rateLimit';
import { temporalIssuer } from './temporalIssuer';
import { temporalRefresher } from './temporalRefresher';

async function main() {
  startTelemetry('api');
  const config = loadApiConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  // Lazy: the API starts (and reports not-ready) even while Temporal is still coming up.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const dataConverter = encryptedDataConverter(await loadCodecKeys(config));
  const temporal = {
    issuer: temporalIssuer({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      logger,
      dataConverter,
      idempotencyWindowMs: config.IDEMPOTENCY_WINDOW_S * 1000,
    }),
    refresher: temporalRefresher({ connection, namespace: config.TEMPORAL_NAMESPACE, logger, dataConverter }),
  };
  const { issuer, refresher } =
    config.MAX_IN_FLIGHT > 0
      ? limitInFlight(config.MAX_IN_FLIGHT, temporal.issuer, temporal.refresher)
      : temporal;
  let shuttingDown = false;
  const app = createApp({
    issuer,
    refresher,
    logger,
    metrics: new ServiceMetrics('api'),
    deadlineMs: config.TOKEN_DEADLINE_MS,
    trustProxy: config.TRUST_PROXY,
    rateLimits: createRateLimits({
      clientIp: { points: config.RATE_LIMIT_IP_POINTS, windowSeconds: config.RATE_LIMIT_IP_WINDOW_S },
      deploymentKey: { points: config.RATE_LIMIT_KEY_POINTS, windowSeconds: config.RATE_LIMIT_KEY_WINDOW_S },
    }),
    shuttingDown: () => shuttingDown,
  });
  const served = await serve(app, config.API_PORT, config.HOST, {
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });
  logger.info({ url: served.url, temporal: config.TEMPORAL_ADDRESS }, 'api listening');

  onShutdown(logger, async () => {
    shuttingDown = true; // /readyz answers 503 from now on
    await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
    await served.close(); // in-flight requests finish; each is bounded by its deadline
    await connection.close();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
