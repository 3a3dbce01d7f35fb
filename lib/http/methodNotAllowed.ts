import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { AppError } from '../../domain/errors';

/**
 * Last in the chain, after the routes: a request that no route answered, on a path that some route serves with
 * other methods, gets 405 `method_not_allowed` with `Allow` naming those methods (RFC 9110 §15.5.6), as JSON
 * through the error middleware, with whatever headers (CORS) every other answer carries. A path no route serves
 * stays 404. @koa/router's own `allowedMethods()` is not used: it answers a method it does not know (TRACE,
 * QUERY, ...) with 501 Not Implemented, and when asked to throw it leaves `Allow` out.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routers of any state type
export function methodNotAllowed(...routers: Router<any, any>[]): Middleware {
  return (ctx) => {
    const allowed = new Set<string>();
    for (const router of routers) {
      for (const layer of router.match(ctx.path, ctx.method).path) {
        for (const method of layer.methods) allowed.add(method);
      }
    }
    if (allowed.size === 0) return; // 404
    throw new AppError('method_not_allowed', 'Method not allowed.', { Allow: [...allowed].join(', ') });
  };
}
