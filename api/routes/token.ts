import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../domain/errors';
import type { IssuedTokenBody } from '../../domain/publicContract';
import { applyCors, preflight } from '../cors';
import { readIdempotencyKey } from '../idempotency';
import type { RateLimits } from '../rateLimit';
import type { TokenRuns } from '../tokenRuns';
import { perClientIp, readTokenRequest, tokenBody } from '../tokenRequest';

/** `POST /v2/Webchat/Token`: a token for the deployment key, bound to the browser when the account asks. */
export function tokenRouter({
  runs,
  deadlineMs,
  rateLimits,
}: {
  runs: TokenRuns;
  deadlineMs: number;
  /** Absent: no limits (tests of other behaviour). */
  rateLimits?: RateLimits;
}): Router {
  const router = new Router({ prefix: '/v2/Webchat' });
  router.options('/Token', preflight());

  router.post('/Token', perClientIp(rateLimits), tokenBody(), async (ctx: Context) => {
    const idempotencyKey = readIdempotencyKey(ctx);
    const input = await readTokenRequest(ctx, rateLimits);
    const result = await runs.createToken(input, deadlineMs, idempotencyKey ? { idempotencyKey } : {});
    applyCors(ctx, result.cors);
    if (result.outcome === 'denied') {
      throw new AppError(result.reason, result.message);
    }
    const body: IssuedTokenBody = {
      token: result.token,
      identity: result.identity,
      expiration: result.expiration,
    };
    ctx.status = 200;
    ctx.body = body;
  });

  return router;
}
