import Router from '@koa/router';
import Koa from 'koa';
import { errorHandler } from '../lib/http/errorHandler';
import { methodNotAllowed } from '../lib/http/methodNotAllowed';
import type { ServiceMetrics } from '../lib/http/metrics';
import { accessLog } from '../lib/http/accessLog';
import { requestId } from '../lib/http/requestId';
import type { Logger } from '../lib/logger';
import { publicHeaders } from './cors';
import { clientAddress } from './clientAddress';
import { countIssuances } from './issuanceMetrics';
import type { RateLimits } from './rateLimit';
import { limitInFlight } from './inFlightLimit';
import { openApiDocument } from './openApi';
import { tokenRouter } from './routes/token';
import type { TokenRuns } from './tokenRuns';
import type { DpopSettings } from './dpopCheck';

export interface ApiDeps {
  runs: TokenRuns;
  logger: Logger;
  deadlineMs: number;
  /** The edges whose X-Forwarded-For names the client (`API_TRUSTED_EDGES`); default: 127.0.0.1 only. */
  trustedEdges?: readonly string[];
  /** At most this many token requests wait on their runs at once; more get 503 at once (0: no limit). */
  maxInFlight?: number;
  /** Per client IP and per deployment key (`createRateLimits`); absent, nothing is limited. */
  rateLimits?: RateLimits;
  /** Prometheus metrics (`GET /metrics`): requests by route and status, token requests by outcome. */
  metrics?: ServiceMetrics;
  /** Flipped by the entry point on SIGTERM so the load balancer stops sending before the drain. */
  shuttingDown?: () => boolean;
  /** How DPoP proofs are checked (api/dpopCheck.ts); absent, every proof presented counts as refused. */
  dpop?: DpopSettings;
}

/** The orchestrator's public API (FWO, FlexWebchatOrchestratorService in the source diagram), built without listening. */
export function createApp({
  runs,
  logger,
  deadlineMs,
  trustedEdges = ['127.0.0.1'],
  rateLimits,
  maxInFlight = 0,
  metrics,
  shuttingDown = () => false,
  dpop,
}: ApiDeps): Koa {
  if (maxInFlight > 0) runs = limitInFlight(maxInFlight, runs);
  if (metrics) runs = countIssuances(metrics.registry, runs);
  // Koa's own `proxy` would believe X-Forwarded-For from any peer; clientAddress() believes the edges only.
  const app = new Koa();
  app.silent = true; // errorHandler logs what matters; Koa's default handler would print stacks to stderr

  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  health.get('/readyz', async (ctx) => {
    const ready = !shuttingDown() && (await runs.ready());
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready' };
  });
  metrics?.route(health);
  // Rendered once per app from the same zod schemas the routes use; the edge forwards this route.
  const document = openApiDocument();
  health.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });

  const tokens = tokenRouter({ runs, deadlineMs, ...(rateLimits && { rateLimits }), ...(dpop && { dpop }) });

  if (metrics) app.use(metrics.middleware());
  app
    .use(publicHeaders())
    .use(requestId())
    .use(clientAddress(trustedEdges))
    .use(accessLog(logger))
    .use(errorHandler(logger))
    .use(health.routes())
    .use(tokens.routes())
    .use(methodNotAllowed(health, tokens));
  return app;
}
