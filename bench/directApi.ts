/**
 * The benchmark's direct baseline as a process: the same Koa app as `api/main.ts`, with `directIssuer` in place
 * of Temporal, and the activities built from the same dependencies as `worker/main.ts` (its own embedded store
 * under DATA_DIR, seeded with the demo accounts; the real FAS at FAS_URL, with the worker's credential). The benchmark puts an edge in front.
 */
import { createActivities, createFasClient } from '../activities';
import { createApp } from '../api/app';
import { loadApiConfig } from '../api/config';
import { directIssuer } from '../api/directIssuer';
import { createRateLimits } from '../api/rateLimit';
import { ServiceMetrics } from '../lib/http/metrics';
import { onShutdown, serve } from '../lib/http/serve';
import { createLogger } from '../lib/logger';
import { loadSecret } from '../lib/secrets/secret';
import { loadServiceCredentials } from '../lib/serviceAuth';
import { openStore } from '../store/openStore';
import { seedDemoAccounts } from '../store/seed';
import { loadWorkerConfig } from '../worker/config';

async function main() {
  const api = loadApiConfig();
  const deps = loadWorkerConfig();
  const logger = createLogger('direct-api', api.LOG_LEVEL);

  const store = await openStore({ dataDir: deps.DATA_DIR, databaseUrl: deps.DATABASE_URL });
  if (deps.SEED_DEMO_ACCOUNTS) await seedDemoAccounts(store);
  const fas = createFasClient(
    deps.FAS_URL,
    deps.FAS_TIMEOUT_MS,
    await loadServiceCredentials('orchestrator', 'federated-auth', deps.fasAuthSecret),
  );
  const fingerprintSecret = await loadSecret(deps.fingerprintSecret);
  const issuer = directIssuer({ activities: createActivities({ store, fas, fingerprintSecret }), logger });

  // The same middleware as api/main.ts (metrics, rate limits as configured), so only the issuer differs.
  const app = createApp({
    issuer,
    logger,
    metrics: new ServiceMetrics('api'),
    deadlineMs: api.TOKEN_DEADLINE_MS,
    trustProxy: api.TRUST_PROXY,
    rateLimits: createRateLimits({
      clientIp: { points: api.RATE_LIMIT_IP_POINTS, windowSeconds: api.RATE_LIMIT_IP_WINDOW_S },
      deploymentKey: { points: api.RATE_LIMIT_KEY_POINTS, windowSeconds: api.RATE_LIMIT_KEY_WINDOW_S },
    }),
  });
  const served = await serve(app, api.API_PORT, api.HOST, { requestTimeoutMs: api.HTTP_REQUEST_TIMEOUT_MS });
  logger.info({ url: served.url }, 'direct api listening');

  onShutdown(logger, async () => {
    await served.close();
    await fas.close();
    await store.close();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
