import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createFasClient } from '../activities';
import { encryptedDataConverter, loadCodecKeys } from '../lib/codec/loadCodec';
import { createLogger } from '../lib/logger';
import { loadServiceCredentials } from '../lib/serviceAuth';
import { loadOrCreateSecret } from '../lib/secretFile';
import { startTelemetry } from '../lib/telemetry';
import { temporalLogger } from '../lib/temporalLogger';
import { storeSocketPath } from '../store/accountAdmin';
import { openStore } from '../store/openStore';
import { seedDemoAccounts } from '../store/seed';
import { serveStore } from '../store/serveStore';
import { loadWorkerConfig } from './config';
import { createWorker } from './createWorker';

async function main() {
  startTelemetry('worker');
  const config = loadWorkerConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(config.WORKER_METRICS_ADDRESS && {
        metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS } },
      }),
    },
  });

  const store = await openStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  // The embedded store is locked to this process: serve it to the admin CLI while the worker runs.
  const storeServer = config.DATABASE_URL
    ? null
    : await serveStore(store, storeSocketPath(config.DATA_DIR)).catch((err: unknown) => {
        log.warn({ err }, 'the admin CLI cannot reach the store while the worker runs');
        return null;
      });
  if (config.SEED_DEMO_ACCOUNTS) {
    const seeded = await seedDemoAccounts(store);
    if (seeded.created.length > 0) log.info('seeded the demo accounts');
  }
  const fas = createFasClient(
    config.FAS_URL,
    config.FAS_TIMEOUT_MS,
    await loadServiceCredentials('orchestrator', 'federated-auth', config.fasAuthSecret),
  );
  const fingerprintSecret = await loadOrCreateSecret(config.FINGERPRINT_SECRET_FILE);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: encryptedDataConverter(await loadCodecKeys(config)),
    deps: { store, fas, fingerprintSecret },
  });
  log.info({ address: config.TEMPORAL_ADDRESS, taskQueue: worker.options.taskQueue }, 'worker started');

  // The SDK's runtime turns SIGINT/SIGTERM into worker.shutdown(): in-flight tasks finish, then run() resolves.
  await worker.run();
  await connection.close();
  await fas.close();
  await storeServer?.close();
  await store.close();
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
