import Router from '@koa/router';
import Koa from 'koa';
import { errorHandler } from '../lib/http/errorHandler';
import type { ServiceMetrics } from '../lib/http/metrics';
import { accessLog } from '../lib/http/accessLog';
import { requestId } from '../lib/http/requestId';
import type { Logger } from '../lib/logger';
import { publicHeaders } from './cors';
import { countIssuances } from './issuanceMetrics';
import type { Issuer } from './issuer';
import type { RateLimits } from './rateLimit';
import type { Refresher } from './refresher';
import { refreshRouter } from './routes/refresh';
import { tokenRouter } from './routes/token';

export interface ApiDeps {
  issuer: Issuer;
  logger: Logger;
  deadlineMs: number;
  trustProxy?: boolean;
  /** Serves `POST /v2/Webchat/Token/Refresh` (and `Tokens/Refresh`) when given. */
  refresher?: Refresher;
  /** Per client IP and per deployment key (`createRateLimits`); absent, nothing is limited. */
  rateLimits?: RateLimits;
  /** Prometheus metrics (`GET /metrics`): requests by route and status, token requests by outcome. */
  metrics?: ServiceMetrics;
  /** Flipped by the entry point on SIGTERM so the load balancer stops sending before the drain. */
  shuttingDown?: () => boolean;
}

/** The orchestrator's public API (FWO), built without listening. */
export function createApp({
  issuer,
  logger,
  deadlineMs,
  trustProxy = true,
  rateLimits,
  refresher,
  metrics,
  shuttingDown = () => false,
}: ApiDeps): Koa {
  if (metrics) ({ issuer, refresher } = countIssuances(metrics.registry, issuer, refresher));
  const app = new Koa({ proxy: trustProxy, maxIpsCount: 1 });
  app.silent = true; // errorHandler logs what matters; Koa's default handler would print stacks to stderr

  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  health.get('/readyz', async (ctx) => {
    const ready = !shuttingDown() && (await issuer.ready());
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready' };
  });
  metrics?.route(health);

  const tokens = tokenRouter({ issuer, deadlineMs, ...(rateLimits ? { rateLimits } : {}) });
  const refresh = refresher
    ? refreshRouter({ refresher, deadlineMs, ...(rateLimits ? { rateLimits } : {}) })
    : undefined;

  if (metrics) app.use(metrics.middleware());
  app
    .use(publicHeaders())
    .use(requestId())
    .use(accessLog(logger))
    .use(errorHandler(logger))
    .use(health.routes())
    .use(refresh ? refresh.routes() : (_ctx, next) => next())
    .use(tokens.routes())
    .use(tokens.allowedMethods({ throw: true }));
  return app;
}
