import { Connection, type ConnectionLike } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { encryptedDataConverter, loadCodecKeys } from '../lib/codec/loadCodec';
import { createLogger, type Logger } from '../lib/logger';
import { ServiceMetrics } from '../lib/http/metrics';
import { onShutdown, serve } from '../lib/http/serve';
import { startTelemetry } from '../lib/telemetry';
import { loadWorkerConfig } from '../worker/config';
import { installRuntime, startWorker } from '../worker/startWorker';
import { createApp } from './app';
import { loadApiConfig, type ApiConfig } from './config';
import { limitInFlight } from './inFlightLimit';
import { createRateLimits } from './rateLimit';
import { temporalIssuer } from './temporalIssuer';
import { temporalRefresher } from './temporalRefresher';

async function main() {
  startTelemetry('api');
  const config = loadApiConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const { connection, stopWorker } = config.API_RUN_WORKER
    ? await withOwnWorker(config)
    : // Lazy: the API starts (and reports not-ready) even while Temporal is still coming up.
      { connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), stopWorker: async () => {} };
  const dataConverter = encryptedDataConverter(await loadCodecKeys(config));
  const metrics = new ServiceMetrics('api');
  const clientOptions = {
    registry: metrics.registry,
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    logger,
    dataConverter,
    eagerStart: config.API_RUN_WORKER,
  };
  const temporal = {
    issuer: temporalIssuer({ ...clientOptions, idempotencyWindowMs: config.IDEMPOTENCY_WINDOW_S * 1000 }),
    refresher: temporalRefresher(clientOptions),
  };
  const { issuer, refresher } =
    config.MAX_IN_FLIGHT > 0
      ? limitInFlight(config.MAX_IN_FLIGHT, temporal.issuer, temporal.refresher)
      : temporal;
  const rateLimits = createRateLimits(
    {
      clientIp: { points: config.RATE_LIMIT_IP_POINTS, windowSeconds: config.RATE_LIMIT_IP_WINDOW_S },
      deploymentKey: { points: config.RATE_LIMIT_KEY_POINTS, windowSeconds: config.RATE_LIMIT_KEY_WINDOW_S },
      deploymentKeyTotal: {
        points: config.RATE_LIMIT_KEY_TOTAL_POINTS,
        windowSeconds: config.RATE_LIMIT_KEY_WINDOW_S,
      },
    },
    {
      redisUrl: config.REDIS_URL,
      keyPrefix: config.REDIS_KEY_PREFIX,
      memoryMaxKeys: config.RATE_LIMIT_MEMORY_MAX_KEYS,
      logger,
      registry: metrics.registry,
    },
  );
  let shuttingDown = false;
  const app = createApp({
    issuer,
    refresher,
    logger,
    metrics,
    deadlineMs: config.TOKEN_DEADLINE_MS,
    trustProxy: config.TRUST_PROXY,
    rateLimits,
    shuttingDown: () => shuttingDown,
  });
  const served = await serve(app, config.API_PORT, config.HOST, {
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });
  logger.info(
    { url: served.url, temporal: config.TEMPORAL_ADDRESS, ownWorker: config.API_RUN_WORKER },
    'api listening',
  );

  onShutdown(logger, async () => {
    shuttingDown = true; // /readyz answers 503 from now on
    await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
    await served.close(); // in-flight requests finish (their runs need the worker); each is bounded by its deadline
    await stopWorker();
    await connection.close();
    await rateLimits.close();
  });
}

/**
 * The API's own worker (`API_RUN_WORKER`): client and worker share one `NativeConnection`, which eager workflow
 * start needs. The worker starts before the API listens (so neither /healthz nor /readyz answers until Temporal
 * is up and the workflows are bundled, a few seconds): /readyz is never up without the worker. SIGTERM stops the
 * HTTP server first, then the worker, so requests in flight still get their runs finished.
 */
async function withOwnWorker(config: ApiConfig): Promise<{
  connection: ConnectionLike & { close(): Promise<void> };
  stopWorker: () => Promise<void>;
}> {
  const workerConfig = loadWorkerConfig();
  const log = createLogger('worker', workerConfig.LOG_LEVEL);
  installRuntime(workerConfig, log, []);
  const connection = await connectWhenUp(config.TEMPORAL_ADDRESS, log);
  const { worker, close } = await startWorker(workerConfig, log, connection);
  let stopping = false;
  const running = worker.run().catch((err: unknown) => {
    if (stopping) throw err; // stopWorker reports it
    // Without its worker this API cannot issue a token: stop, so a supervisor restarts the pair.
    log.fatal({ err }, 'the worker failed');
    process.exit(1);
  });
  return {
    connection,
    stopWorker: async () => {
      stopping = true;
      worker.shutdown();
      try {
        await running;
        log.info('worker stopped');
      } catch (err) {
        log.error({ err }, 'the worker did not stop cleanly');
      } finally {
        await close();
      }
    },
  };
}

/** Connects to Temporal, retrying while it is still coming up. */
async function connectWhenUp(address: string, log: Logger): Promise<NativeConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      if (attempt % 10 === 1) log.warn({ err, address }, 'Temporal is not answering yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
