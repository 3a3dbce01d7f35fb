import { type NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { createFasClient } from '../activities';
import { encryptedDataConverter, loadCodecKeys } from '../lib/codec/loadCodec';
import type { Logger } from '../lib/logger';
import { loadServiceCredentials } from '../lib/serviceAuth';
import { loadOrCreateSecret } from '../lib/secretFile';
import { temporalLogger } from '../lib/temporalLogger';
import { openStore } from '../store/openStore';
import { seedDemoAccounts } from '../store/seed';
import type { WorkerConfig } from './config';
import { createWorker } from './createWorker';

/**
 * The process-wide Temporal runtime: core logs through pino (warnings and up), Prometheus metrics when an address
 * is set. `shutdownSignals: []` leaves SIGINT/SIGTERM to a host process that must stop other things first (the
 * API drains its requests before its worker stops).
 */
export function installRuntime(config: WorkerConfig, log: Logger, shutdownSignals?: NodeJS.Signals[]): void {
  Runtime.install({
    logger: temporalLogger(log),
    ...(shutdownSignals && { shutdownSignals }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(config.WORKER_METRICS_ADDRESS && {
        metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS } },
      }),
    },
  });
}

export interface StartedWorker {
  worker: Worker;
  /** Releases what the worker used (FAS connections, the store); call after `worker.run()` has resolved. */
  close: () => Promise<void>;
}

/**
 * The worker of the token workflows with everything its activities need: the account store (the embedded one
 * through the process that serves it, see `store/embeddedClient.ts`), the demo accounts, the FAS client with its service credential and
 * the fingerprint secret. Used by `worker/main.ts` and by an API that runs its own worker (`API_RUN_WORKER`).
 */
export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  connection: NativeConnection,
): Promise<StartedWorker> {
  const store = await openStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const close = async () => {
    for (const closeOne of [...closers].reverse()) await closeOne();
  };
  try {
    if (config.SEED_DEMO_ACCOUNTS) {
      const seeded = await seedDemoAccounts(store);
      if (seeded.created.length > 0) log.info('seeded the demo accounts');
    }
    const fas = createFasClient(
      config.FAS_URL,
      config.FAS_TIMEOUT_MS,
      await loadServiceCredentials('orchestrator', 'federated-auth', config.fasAuthSecret),
    );
    closers.push(() => fas.close());
    const fingerprintSecret = await loadOrCreateSecret(config.FINGERPRINT_SECRET_FILE);
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: encryptedDataConverter(await loadCodecKeys(config)),
      deps: { store, fas, fingerprintSecret },
    });
    log.info({ address: config.TEMPORAL_ADDRESS, taskQueue: worker.options.taskQueue }, 'worker started');
    return { worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}
