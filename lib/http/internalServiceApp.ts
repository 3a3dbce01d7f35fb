import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from '../logger';
import { accessLog } from './accessLog';
import { errorHandler } from './errorHandler';
import { jsonBody } from './jsonBody';
import { methodNotAllowed } from './methodNotAllowed';
import type { ServiceMetrics } from './metrics';
import { requestId } from './requestId';

/** Set by requestId(). */
export interface ServiceState {
  requestId: string;
}

/**
 * The middleware stack every internal JSON service (FAS, SAS) shares, around its own router: metrics and the
 * scrape route first (the scraper holds no credential, the figures hold no secret), then request id and access
 * log around the error middleware (so the log line has the status the client got), then the caller's
 * credential check before the body parser (an unauthenticated caller learns nothing, not even whether its body
 * was valid), then the routes.
 */
export function internalServiceApp({
  router,
  logger,
  authenticate,
  metrics,
}: {
  router: Router<ServiceState>;
  logger: Logger;
  authenticate: Middleware;
  metrics?: ServiceMetrics;
}): Koa<ServiceState> {
  const app = new Koa<ServiceState>();
  if (metrics) {
    const scrape = new Router<ServiceState>();
    metrics.route(scrape);
    app.use(metrics.middleware());
    app.use(scrape.routes());
  }
  app.use(requestId());
  app.use(accessLog(logger));
  app.use(errorHandler(logger));
  app.use(authenticate);
  app.use(jsonBody());
  app.use(router.routes());
  app.use(methodNotAllowed(router));
  return app;
}
