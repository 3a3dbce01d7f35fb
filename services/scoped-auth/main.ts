import { createLogger } from '../../lib/logger';
import { onShutdown } from '../../lib/shutdown';
import { startTelemetry } from '../../lib/telemetry';
import { loadScopedAuthConfig } from './config';
import { startScopedAuth } from './start';

/** Entry point: `npm run start:sas`. Importing this module starts nothing. */
async function main(): Promise<void> {
  startTelemetry('scoped-auth');
  const config = loadScopedAuthConfig();
  const logger = createLogger('scoped-auth', config.logLevel);
  const service = await startScopedAuth(config, logger);
  // After `npm run rotate-keys`, `kill -HUP <pid>` takes the new ring at once instead of at the next check.
  process.on('SIGHUP', () => void service.reloadKeys());
  onShutdown(() => service.close(), { log: logger });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
