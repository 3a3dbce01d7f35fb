import { createLogger } from '../lib/logger';
import { onShutdown } from '../lib/shutdown';
import { startTelemetry } from '../lib/telemetry';
import { loadEdgeConfig } from './config';
import { startEdge } from './start';

export async function main(): Promise<void> {
  startTelemetry('edge', { continueIncomingTraces: false });
  const config = loadEdgeConfig();
  const logger = createLogger('edge', config.LOG_LEVEL);
  const edge = await startEdge(config, logger);
  logger.info({ url: edge.url, api: config.API_URL }, 'edge listening');
  // Stops accepting; in-flight requests finish (each bounded by EDGE_PROXY_TIMEOUT_MS), then the process exits.
  onShutdown(() => edge.close(), { log: logger });
}

// Start only when run as the entry point (`node --import tsx edge/main.ts`), never when imported.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
