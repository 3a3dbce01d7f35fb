import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../lib/logger';
import { onShutdown } from '../lib/shutdown';
import { startTelemetry } from '../lib/telemetry';
import { loadWorkerConfig } from './config';
import { installRuntime, loadWorkerSecrets, startWorker } from './startWorker';

async function main() {
  startTelemetry('worker');
  const config = loadWorkerConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  // Before connecting: a deployment without its secrets fails at once, naming the variable.
  const secrets = await loadWorkerSecrets(config);
  // No signal handlers of the SDK's own: the process stops the way every other one does (lib/shutdown.ts).
  installRuntime(config, log, []);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const { worker, close } = await startWorker(config, log, connection, secrets);
  let stopping = false;
  const running = worker.run().catch((err: unknown) => {
    if (stopping) throw err; // the shutdown reports it
    log.fatal({ err }, 'the worker failed');
    process.exit(1);
  });
  // worker.shutdown(): no new tasks; those in flight finish, then run() resolves.
  onShutdown(
    async () => {
      stopping = true;
      worker.shutdown();
      await running;
      await connection.close();
      await close();
    },
    { log },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
