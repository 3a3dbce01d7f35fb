import Router from '@koa/router';
import Koa from 'koa';
import { errorHandler } from '../lib/http/errorHandler';
import { accessLog } from '../lib/http/accessLog';
import { requestId } from '../lib/http/requestId';
import type { Logger } from '../lib/logger';
import { publicHeaders } from './cors';
import type { Issuer } from './issuer';
import { tokenRouter } from './routes/token';

export interface ApiDeps {
  issuer: Issuer;
  logger: Logger;
  deadlineMs: number;
  trustProxy?: boolean;
  /** Flipped by the entry point on SIGTERM so the load balancer stops sending before the drain. */
  shuttingDown?: () => boolean;
}

/** The orchestrator's public API (FWO), built without listening. */
export function createApp({
  issuer,
  logger,
  deadlineMs,
  trustProxy = true,
  shuttingDown = () => false,
}: ApiDeps): Koa {
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

  const tokens = tokenRouter({ issuer, deadlineMs });

  app
    .use(publicHeaders())
    .use(requestId())
    .use(accessLog(logger))
    .use(errorHandler(logger))
    .use(health.routes())
    .use(tokens.routes())
    .use(tokens.allowedMethods({ throw: true }));
  return app;
}
