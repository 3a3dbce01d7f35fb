import { join } from 'node:path';
import { createLogger } from '../lib/logger';
import { onShutdown } from '../lib/shutdown';
import { loadWebConfig } from './config';
import { createWebServer } from './server';

/**
 * Serves the demo page on two origins: `WEB_PORT` (allowed by `dk_demo_secure`) and `WEB_OTHER_PORT` (allowed
 * by no demo account), so that the same page shows both a bound token and a CORS refusal.
 */
export async function main(): Promise<void> {
  const config = loadWebConfig();
  const logger = createLogger('web', config.LOG_LEVEL);
  const ports = [config.WEB_PORT, config.WEB_OTHER_PORT];
  const servers = ports.map(() =>
    createWebServer({ publicDir: join(__dirname, 'public'), edgeUrl: config.EDGE_PUBLIC_URL, logger }),
  );
  await Promise.all(
    servers.map(
      (server, i) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port: ports[i], host: config.HOST }, resolve);
        }),
    ),
  );
  const urls = servers.map((server) => {
    const address = server.address();
    return `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
  });
  logger.info({ urls, edge: config.EDGE_PUBLIC_URL }, 'web listening');
  onShutdown(
    async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve, reject) => {
              server.close((err) => (err ? reject(err) : resolve()));
              server.closeIdleConnections();
            }),
        ),
      );
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
