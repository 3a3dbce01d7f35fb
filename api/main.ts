import { Connection, type ConnectionLike } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { encryptedDataConverter } from '../lib/codec/loadCodec';
import { createLogger, type Logger } from '../lib/logger';
import { ServiceMetrics } from '../lib/http/metrics';
import { loadCodecKeys } from '../lib/secrets/codecKeys';
import { startTelemetry } from '../lib/telemetry';
import { loadWorkerConfig } from '../worker/config';
import { installRuntime, loadWorkerSecrets, startWorker } from '../worker/startWorker';
import { loadApiConfig, type ApiConfig } from './config';
import { startApi } from './startApi';
import { temporalTokenRuns } from './temporalTokenRuns';

async function main() {
  startTelemetry('api');
  const config = loadApiConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const { connection, stopWorker } = config.API_RUN_WORKER
    ? await withOwnWorker(config)
    : // Lazy: the API starts (and reports not-ready) even while Temporal is still coming up.
      { connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), stopWorker: async () => {} };
  const metrics = new ServiceMetrics('api');
  const runs = temporalTokenRuns({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    logger,
    dataConverter: encryptedDataConverter(await loadCodecKeys(config.codecKeys)),
    eagerStart: config.API_RUN_WORKER,
    registry: metrics.registry,
    idempotencyWindowMs: config.IDEMPOTENCY_WINDOW_S * 1000,
  });
  await startApi(config, runs, logger, {
    metrics,
    // The runs of requests in flight needed the worker; it stops after them.
    stop: async () => {
      await stopWorker();
      await connection.close();
    },
  });
  if (config.API_RUN_WORKER) logger.info('api runs its own worker');
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
  // Before waiting for Temporal: a deployment without its secrets stops at once, naming the variable.
  const secrets = await loadWorkerSecrets(workerConfig);
  const connection = await connectWhenUp(config.TEMPORAL_ADDRESS, log);
  const { worker, close } = await startWorker(workerConfig, log, connection, secrets);
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
