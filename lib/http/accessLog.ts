import type { Middleware } from 'koa';
import type { Logger } from '../logger';

/** One line per request: method, route path, status, duration, request id. Never headers or bodies. */
export function accessLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      log.info(
        {
          requestId: ctx.state.requestId as unknown,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round((performance.now() - start) * 10) / 10,
        },
        'request',
      );
    }
  };
}
