import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createFasClient } from '../activities';
import { createLogger } from '../lib/logger';
import { loadServiceCredentials } from '../lib/serviceAuth';
import { loadOrCreateSecret } from '../lib/secretFile';
import { temporalLogger } from '../lib/temporalLogger';
import { openStore } from '../store/openStore';
import { seedDemoAccounts } from '../store/seed';
import { loadWorkerConfig } from './config';
import { createWorker } from './createWorker';

async function main() {
  const config = loadWorkerConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });

  const store = await openStore({ dataDir: config.DATA_DIR });
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
    deps: { store, fas, fingerprintSecret },
  });
  log.info({ address: config.TEMPORAL_ADDRESS, taskQueue: worker.options.taskQueue }, 'worker started');

  // The SDK's runtime turns SIGINT/SIGTERM into worker.shutdown(): in-flight tasks finish, then run() resolves.
  await worker.run();
  await connection.close();
  await fas.close();
  await store.close();
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
