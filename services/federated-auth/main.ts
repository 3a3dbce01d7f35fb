import { createLogger } from '../../lib/logger';
import { onShutdown } from '../../lib/shutdown';
import { startTelemetry } from '../../lib/telemetry';
import { loadFederatedAuthConfig } from './config';
import { startFederatedAuth } from './start';

/** Entry point: `npm run start:fas`. Importing this module starts nothing. */
async function main(): Promise<void> {
  startTelemetry('federated-auth');
  const config = loadFederatedAuthConfig();
  const logger = createLogger('federated-auth', config.logLevel);
  const service = await startFederatedAuth(config, logger);
  onShutdown(() => service.close(), { log: logger });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
