import type { Logger } from '../lib/logger';
import { ServiceMetrics } from '../lib/http/metrics';
import { serve } from '../lib/http/serve';
import { openReplayCache } from '../lib/replayCache';
import { onShutdown } from '../lib/shutdown';
import { createApp } from './app';
import type { ApiConfig } from './config';
import { createRateLimits } from './rateLimit';
import type { TokenRuns } from './tokenRuns';

/**
 * Serves the public API over `runs` as configured (rate limits, in-flight limit, metrics, timeouts) and stops
 * it on SIGTERM: /readyz turns 503 first, so the load balancer stops sending, then requests in flight finish,
 * then `stop` releases what the runs use. `api/main.ts` serves Temporal runs with it; the benchmark's direct
 * baseline serves in-process runs with it, so that only the runs differ.
 */
export async function startApi(
  config: ApiConfig,
  runs: TokenRuns,
  logger: Logger,
  { metrics = new ServiceMetrics('api'), stop }: { metrics?: ServiceMetrics; stop: () => Promise<void> },
): Promise<void> {
  const rateLimits = createRateLimits(
    {
      clientIp: { points: config.RATE_LIMIT_IP_POINTS, windowSeconds: config.RATE_LIMIT_IP_WINDOW_S },
      network: { points: config.RATE_LIMIT_NETWORK_POINTS, windowSeconds: config.RATE_LIMIT_IP_WINDOW_S },
      deploymentKey: { points: config.RATE_LIMIT_KEY_POINTS, windowSeconds: config.RATE_LIMIT_KEY_WINDOW_S },
      deploymentKeyTotal: {
        points: config.RATE_LIMIT_KEY_TOTAL_POINTS,
        windowSeconds: config.RATE_LIMIT_KEY_WINDOW_S,
      },
    },
    {
      redisUrl: config.REDIS_URL,
      keyPrefix: config.REDIS_KEY_PREFIX,
      memoryMaxKeys: config.RATE_LIMIT_MEMORY_MAX_KEYS,
      logger,
      registry: metrics.registry,
    },
  );
  const proofReplays = await openReplayCache(
    'dpop_proofs',
    { redisUrl: config.REDIS_URL, keyPrefix: config.REPLAY_KEY_PREFIX },
    logger,
    metrics.registry,
  );
  let shuttingDown = false;
  const app = createApp({
    runs,
    logger,
    metrics,
    deadlineMs: config.TOKEN_DEADLINE_MS,
    trustedEdges: config.API_TRUSTED_EDGES,
    maxInFlight: config.MAX_IN_FLIGHT,
    rateLimits,
    shuttingDown: () => shuttingDown,
    dpop: { publicUrl: config.EDGE_PUBLIC_URL, replays: proofReplays },
  });
  const served = await serve(app, config.API_PORT, config.HOST, {
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });
  logger.info({ url: served.url, temporal: config.TEMPORAL_ADDRESS }, 'api listening');

  onShutdown(
    async () => {
      shuttingDown = true; // /readyz answers 503 from now on
      await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
      await served.close(); // in-flight requests finish; each is bounded by its deadline
      await stop();
      await rateLimits.close();
      await proofReplays.close();
    },
    // The not-ready delay, the HTTP drain (cut after 30 s), then the worker's tasks in flight.
    { log: logger, timeoutMs: config.SHUTDOWN_DELAY_MS + 45_000 },
  );
}
