import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { requestIdSchema } from '../../domain/publicContract';

/**
 * Takes the caller's `X-Request-Id` when it is well formed (the edge sets one), else makes one, and echoes it.
 * It goes into every log line and into the run's `WebchatRequestId` search attribute (never its workflow id), so
 * one id follows a request everywhere.
 */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const id = requestIdSchema.safeParse(given).success ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
