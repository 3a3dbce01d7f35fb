import type { Context, Middleware } from 'koa';
import type { Logger } from '../logger';

/** Probes a load balancer or the edge sends every second: logged at debug, so they do not drown the requests. */
const probePaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per request: method, request path, status, duration, request id, and what the route adds with
 * `logFields` (an account, an identity, a refusal's reason): one line per hop, never headers or bodies.
 */
export function accessLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const line = {
        requestId: ctx.state.requestId as unknown,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
        ...(ctx.state.logFields as Record<string, unknown> | undefined),
      };
      if (probePaths.has(ctx.path) && ctx.status < 400) log.debug(line, 'request');
      else log.info(line, 'request');
    }
  };
}

/** Adds fields to the request's access line (no secrets: never a token, key, credential or signal). */
export function logFields(ctx: Context, fields: Record<string, unknown>): void {
  ctx.state.logFields = { ...(ctx.state.logFields as Record<string, unknown> | undefined), ...fields };
}

/** What FAS and SAS log of a token they issued: whose it is, how long it lives and how it is bound; never the token. */
export function logIssuedToken(
  ctx: Context,
  accountSid: string,
  identity: string,
  request: { ttl: number; fingerprintLevel?: string | undefined; jkt?: string | undefined },
): void {
  logFields(ctx, {
    accountSid,
    identity,
    ttl: request.ttl,
    fingerprintLevel: request.fingerprintLevel,
    keyBound: request.jkt !== undefined,
  });
}
