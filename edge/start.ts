import { serve, type Served } from '../lib/http/serve';
import { createLogger, type Logger } from '../lib/logger';
import type { EdgeConfig } from './config';
import { createEdge } from './edge';

/**
 * Creates the edge and listens on `HOST:EDGE_PORT` (port 0 picks a free one, which tests use) through
 * lib/http/serve.ts, as every service does. `close()` turns /readyz to 503, stops accepting, lets in-flight
 * requests finish (each bounded by EDGE_PROXY_TIMEOUT_MS; what is left is cut after serve's drain timeout), then
 * releases the connections to the APIs.
 */
export async function startEdge(
  config: EdgeConfig,
  logger: Logger = createLogger('edge', config.LOG_LEVEL),
): Promise<Served> {
  const edge = createEdge({
    apiUrls: config.API_URL.split(','),
    timeoutMs: config.EDGE_PROXY_TIMEOUT_MS,
    healthIntervalMs: config.EDGE_HEALTH_INTERVAL_MS,
    trustedProxies: config.EDGE_TRUSTED_PROXIES,
    maxBodyBytes: config.EDGE_MAX_BODY_BYTES,
    logger,
  });
  const served = await serve(edge.handle, config.EDGE_PORT, config.HOST, {
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    release: () => edge.release(),
  });
  edge.start();
  return {
    ...served,
    close: async () => {
      edge.stopAccepting();
      await served.close();
    },
  };
}
