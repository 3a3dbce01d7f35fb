import { Connection } from '@temporalio/client';
import { createLogger } from '../lib/logger';
import { onShutdown, serve } from '../lib/http/serve';
import { createApp } from './app';
import { loadApiConfig } from './config';
import { temporalIssuer } from './temporalIssuer';

async function main() {
  const config = loadApiConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  // Lazy: the API starts (and reports not-ready) even while Temporal is still coming up.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const issuer = temporalIssuer({ connection, namespace: config.TEMPORAL_NAMESPACE, logger });
  let shuttingDown = false;
  const app = createApp({
    issuer,
    logger,
    deadlineMs: config.TOKEN_DEADLINE_MS,
    trustProxy: config.TRUST_PROXY,
    shuttingDown: () => shuttingDown,
  });
  const served = await serve(app, config.API_PORT, config.HOST);
  logger.info({ url: served.url, temporal: config.TEMPORAL_ADDRESS }, 'api listening');

  onShutdown(logger, async () => {
    shuttingDown = true; // /readyz answers 503 from now on
    await served.close(); // in-flight requests finish; each is bounded by its deadline
    await connection.close();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
