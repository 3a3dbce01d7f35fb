import type { Served } from '../lib/http/serve';
import { createLogger, type Logger } from '../lib/logger';
import type { EdgeConfig } from './config';
import { createEdge } from './edge';

/**
 * Creates the edge and listens on `HOST:EDGE_PORT` (port 0 picks a free one, which tests use). `close()` stops
 * accepting, lets in-flight requests finish, then closes idle keep-alive sockets.
 */
export async function startEdge(
  config: EdgeConfig,
  logger: Logger = createLogger('edge', config.LOG_LEVEL),
): Promise<Served> {
  const server = createEdge({
    apiUrls: config.API_URL.split(','),
    timeoutMs: config.EDGE_PROXY_TIMEOUT_MS,
    healthIntervalMs: config.EDGE_HEALTH_INTERVAL_MS,
    trustedProxies: config.EDGE_TRUSTED_PROXIES,
    maxBodyBytes: config.EDGE_MAX_BODY_BYTES,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    logger,
  });
  server.listen({ port: config.EDGE_PORT, host: config.HOST });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.EDGE_PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
