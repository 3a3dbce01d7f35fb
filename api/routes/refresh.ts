import Router from '@koa/router';
import type { Context } from 'koa';
import type { IssuedTokenBody, RefreshRefusalBody } from '../../domain/publicContract';
import { applyCors, preflight } from '../cors';
import type { RateLimits } from '../rateLimit';
import type { TokenRuns } from '../tokenRuns';
import { perClientIp, readToken, readTokenRequest, tokenBody } from '../tokenRequest';

/** The shipped widget refreshes on `Tokens/Refresh`; `Token/Refresh` is the route this API has always had. */
const refreshPaths = ['/Token/Refresh', '/Tokens/Refresh'];

/**
 * `POST /v2/Webchat/Token/Refresh` (and `/v2/Webchat/Tokens/Refresh`, the same route): a new token for the
 * same identity when the old one is valid and, for a bound token, presented by the same browser. Same input rules, limits and CORS as issuance; a refusal is
 * 403 `{valid: false, code, message}`.
 */
export function refreshRouter({
  runs,
  deadlineMs,
  rateLimits,
}: {
  runs: TokenRuns;
  deadlineMs: number;
  rateLimits?: RateLimits;
}): Router {
  const router = new Router({ prefix: '/v2/Webchat' });
  router.options(refreshPaths, preflight());

  router.post(refreshPaths, perClientIp(rateLimits), tokenBody(), async (ctx: Context) => {
    const input = await readTokenRequest(ctx, rateLimits, (c) => ({ token: readToken(c) }));
    const result = await runs.refreshToken(input, deadlineMs);
    applyCors(ctx, result.cors);
    if (result.outcome === 'refused') {
      const refusal: RefreshRefusalBody = { valid: false, code: result.code, message: result.message };
      ctx.status = 403;
      ctx.body = refusal;
      return;
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
