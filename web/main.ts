import { join } from 'node:path';
import { serve } from '../lib/http/serve';
import { createLogger } from '../lib/logger';
import { onShutdown } from '../lib/shutdown';
import { loadWebConfig } from './config';
import { createWebHandler } from './server';

/**
 * Serves the demo page on two origins: `WEB_PORT` (allowed by `dk_demo_secure`) and `WEB_OTHER_PORT` (allowed
 * only by `dk_demo_open`, which allows any), so that the same page shows both a bound token and a CORS refusal.
 */
export async function main(): Promise<void> {
  const config = loadWebConfig();
  const logger = createLogger('web', config.LOG_LEVEL);
  const handler = createWebHandler({
    publicDir: join(__dirname, 'public'),
    edgeUrl: config.EDGE_PUBLIC_URL,
    logger,
  });
  const served = await Promise.all(
    [config.WEB_PORT, config.WEB_OTHER_PORT].map((port) => serve(handler, port, config.HOST)),
  );
  const urls = served.map(({ server }) => {
    const address = server.address();
    return `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
  });
  logger.info({ urls, edge: config.EDGE_PUBLIC_URL }, 'web listening');
  onShutdown(
    async () => {
      await Promise.all(served.map((s) => s.close()));
    },
    { log: logger },
  );
}

// Start only when run as the entry point (`node --import tsx web/main.ts`), never when imported.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
