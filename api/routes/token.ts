import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { CreateWebchatTokenInput } from '../../domain/contracts';
import { AppError } from '../../domain/errors';
import { collectSignals } from '../../lib/fingerprint';
import { applyCors, preflight } from '../cors';
import { readIdempotencyKey } from '../idempotency';
import { clientIpOf, type RateLimits } from '../rateLimit';
import type { TokenRuns } from '../tokenRuns';
import { readDeploymentKey, tokenBody } from '../tokenRequest';

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

  // The IP limit comes before the body is even read; a limited request starts no workflow.
  const perIp: Middleware = rateLimits ? rateLimits.clientIp.middleware(clientIpOf) : (_ctx, next) => next();

  router.post('/Token', perIp, tokenBody(), async (ctx: Context) => {
    const deploymentKey = readDeploymentKey(ctx);
    const idempotencyKey = readIdempotencyKey(ctx);
    await rateLimits?.deploymentKey.consume(deploymentKey);
    const input: CreateWebchatTokenInput = {
      requestId: ctx.state.requestId as string,
      deploymentKey,
      origin: ctx.get('origin') || null,
      signals: collectSignals(ctx.headers, clientIpOf(ctx)),
    };
    const result = await runs.createToken(input, deadlineMs, idempotencyKey ? { idempotencyKey } : {});
    applyCors(ctx, result.cors);
    if (result.outcome === 'denied') {
      throw new AppError(result.reason, result.message);
    }
    ctx.status = 200;
    ctx.body = { token: result.token, identity: result.identity, expiration: result.expiration };
  });

  return router;
}
