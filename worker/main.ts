import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../lib/logger';
import { startTelemetry } from '../lib/telemetry';
import { loadWorkerConfig } from './config';
import { installRuntime, loadWorkerSecrets, startWorker } from './startWorker';

async function main() {
  startTelemetry('worker');
  const config = loadWorkerConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  // Before connecting: a deployment without its secrets fails at once, naming the variable.
  const secrets = await loadWorkerSecrets(config);
  installRuntime(config, log);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const { worker, close } = await startWorker(config, log, connection, secrets);

  // The SDK's runtime turns SIGINT/SIGTERM into worker.shutdown(): in-flight tasks finish, then run() resolves.
  await worker.run();
  await connection.close();
  await close();
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
